"""Build glue: the cffi extension (API mode, out-of-line) plus two plain shared libraries.

- glcoherent/_native*.so        cffi module used by the Python package (core compiled in)
- glcoherent/bench/_benchnative*.so  cffi module of the benchmark's C loops (not the product)
- glcoherent/libglcoherent.so   the C API for GL layers that link it (glcoherent.h)
- glcoherent/libglcoherent_preload.so  the LD_PRELOAD interposer (core + interpose.c)
- glcoherent/demos/libcompat32.so  (x86-64 only) test and demo support, not part of glcoherent:
  a thunk that runs i386 code in compatibility mode (demos/compat32_thunk.S, demos/compat32.c)

Environment: GLCOHERENT_WERROR=1 adds -Werror, GLCOHERENT_SANITIZE=1 builds with ASan+UBSan.
"""

import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

from setup_flags import NATIVE, PRODUCT_LAYERS, layer_sources, native_flags

CORE_SOURCES = layer_sources(*PRODUCT_LAYERS)
PLAIN_LIBS = {"glcoherent.libglcoherent", "glcoherent.libglcoherent_preload",
              "glcoherent.demos.libcompat32"}
HERE = os.path.dirname(os.path.abspath(__file__))


class BuildExt(build_ext):
    """Gives the plain shared libraries their plain names (no ABI suffix), and leaves a copy of
    every built library in the source tree as well (what `build_ext --inplace` does).

    Why the copy: `python -m glcoherent` run in a clone's root imports the package from the
    clone (the current directory comes first on sys.path), not the installed copy. With the
    libraries beside the sources, the README's `pip install . && python -m glcoherent ...` works
    from the root of a fresh clone. pip builds a local directory in place (pip >= 21.3); when it
    builds elsewhere (an sdist, a temporary copy) the copy lands there and is thrown away, and
    the package says what to do if it is ever imported without its extension.
    """

    def run(self):
        super().run()
        if self.inplace or os.environ.get("GLCOHERENT_NO_INPLACE_COPY"):
            return
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            built = self.get_ext_fullpath(ext.name)
            package = ".".join(ext.name.split(".")[:-1])
            dest_dir = os.path.join(HERE, build_py.get_package_dir(package))
            dest = os.path.join(dest_dir, os.path.basename(built))
            if os.path.isfile(built) and os.path.isdir(dest_dir):
                self.copy_file(built, dest, level=self.verbose)

    def build_extensions(self):
        # the compatibility-mode thunk is assembly that needs the C preprocessor (gcc does both)
        if ".S" not in self.compiler.src_extensions:
            self.compiler.src_extensions.append(".S")
        super().build_extensions()

    def get_ext_filename(self, fullname):
        # Called with the dotted name by some setuptools paths and the last part by others.
        if fullname in PLAIN_LIBS or any(lib.endswith(f".{fullname}") for lib in PLAIN_LIBS):
            return os.path.join(*fullname.split(".")) + ".so"
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext):
        if ext.name in PLAIN_LIBS or any(lib.endswith(f".{ext.name}") for lib in PLAIN_LIBS):
            return []
        return super().get_export_symbols(ext)


cflags, ldflags = native_flags()
plain = [
    Extension(
        "glcoherent.libglcoherent",
        sources=CORE_SOURCES,
        include_dirs=[NATIVE],
        extra_compile_args=cflags + ["-DGLC_BUILD_SHARED"],
        extra_link_args=ldflags + ["-Wl,-soname,libglcoherent.so",
                                   f"-Wl,--version-script={NATIVE}/api/libglcoherent.map"],
    ),
    Extension(
        "glcoherent.libglcoherent_preload",
        sources=CORE_SOURCES + layer_sources("preload"),
        include_dirs=[NATIVE],
        extra_compile_args=cflags + ["-DGLC_BUILD_SHARED", "-DGLC_BUILD_PRELOAD"],
        extra_link_args=ldflags + ["-Wl,-soname,libglcoherent_preload.so",
                                   f"-Wl,--version-script={NATIVE}/preload/interpose.map"],
    ),
]

if platform.machine() in ("x86_64", "AMD64"):
    # Test and demo support only (python -m glcoherent demo wow64, tests/test_wow64.py): its own
    # library, so that nothing of it ends up in the shipped ones. No sanitizers: the thunk leaves
    # the 64-bit world those runtimes know.
    compat_flags = ["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-fvisibility=hidden"]
    if os.environ.get("GLCOHERENT_WERROR", "") not in ("", "0"):
        compat_flags.append("-Werror")
    plain.append(Extension(
        "glcoherent.demos.libcompat32",
        sources=["demos/compat32.c", "demos/compat32_thunk.S"],
        extra_compile_args=compat_flags,
        extra_link_args=["-lpthread", "-Wl,-soname,libcompat32.so", "-Wl,-z,noexecstack"],
    ))

setup(
    cffi_modules=["glcoherent/_build_native.py:ffibuilder",
                  "glcoherent/_build_native.py:benchbuilder"],
    ext_modules=plain,
    cmdclass={"build_ext": BuildExt},
)
