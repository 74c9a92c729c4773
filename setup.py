"""Build glue: the cffi extension (API mode, out-of-line) plus two plain shared libraries.

- glcoherent/_native*.so        cffi module used by the Python package (core compiled in)
- glcoherent/bench/_benchnative*.so  cffi module of the benchmark's C loops (not the product)
- glcoherent/libglcoherent.so   the C API for GL layers that link it (glcoherent.h)
- glcoherent/libglcoherent_preload.so  the LD_PRELOAD interposer (core + interpose.c)

Environment: GLCOHERENT_WERROR=1 adds -Werror, GLCOHERENT_SANITIZE=1 builds with ASan+UBSan.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

from setup_flags import NATIVE, PRODUCT_LAYERS, layer_sources, native_flags

CORE_SOURCES = layer_sources(*PRODUCT_LAYERS)
PLAIN_LIBS = {"glcoherent.libglcoherent", "glcoherent.libglcoherent_preload"}


class BuildExt(build_ext):
    """Gives the plain shared libraries their plain names (no ABI suffix)."""

    def get_ext_filename(self, fullname):
        # Called with the dotted name by some setuptools paths and the last part by others.
        if fullname in PLAIN_LIBS or f"glcoherent.{fullname}" in PLAIN_LIBS:
            return os.path.join(*fullname.split(".")) + ".so"
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext):
        if ext.name in PLAIN_LIBS or f"glcoherent.{ext.name}" in PLAIN_LIBS:
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

setup(
    cffi_modules=["glcoherent/_build_native.py:ffibuilder",
                  "glcoherent/_build_native.py:benchbuilder"],
    ext_modules=plain,
    cmdclass={"build_ext": BuildExt},
)
