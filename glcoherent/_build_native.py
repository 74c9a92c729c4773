"""cffi builders (API mode, out-of-line).

- ffibuilder: the product layers of glcoherent/native (core/, track/, gl/, api/) as
  glcoherent._native, the module the Python package uses;
- benchbuilder: the benchmark's C loops (native/bench/) with their own copy of the tracking layer
  as glcoherent.bench._benchnative, so that no bench code is in the product modules.

The declarations exposed to Python live in glcoherent/native/cdef/*.cdef (one file per C module,
next to the headers they mirror); the bench's in glcoherent/native/bench/*.cdef.
"""

import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "native")
sys.path.insert(0, os.path.dirname(HERE))
from setup_flags import PRODUCT_LAYERS, layer_sources, native_flags  # noqa: E402

# setuptools wants paths relative to the root (where setup.py runs).
NATIVE_REL = os.path.relpath(NATIVE, os.path.dirname(HERE))


def stats_counters():
    """The counter names of GLCOHERENT_STATS_COUNTERS in api/glcoherent.h, in order: the one
    list of the statistics fields (the cdef of glcoherent_stats is expanded from it)."""
    with open(os.path.join(NATIVE, "api", "glcoherent.h")) as f:
        text = f.read()
    start = text.index("#define GLCOHERENT_STATS_COUNTERS(X)")
    end = text.index("\n\n", start)
    return re.findall(r"X\((\w+)\)", text[start:end])


def _expand(cdef_text):
    fields = "\n    ".join(f"uint64_t {name};" for name in stats_counters())
    return cdef_text.replace("@GLCOHERENT_STATS_COUNTERS@", fields)


def make_builder(module, cdefs, headers, sources, include_dirs=(), native_dir=NATIVE_REL):
    """An FFI for `module`: the cdef files in order (later ones use earlier types), a binding
    unit that includes `headers` (relative to glcoherent/native, found in native_dir), the C
    `sources`."""
    ffi = FFI()
    for path in cdefs:
        with open(path) as f:
            ffi.cdef(_expand(f.read()))
    cflags, ldflags = native_flags(strict=False)
    ffi.set_source(
        module,
        "\n".join(f'#include "{h}"' for h in headers),
        sources=list(sources),
        include_dirs=[native_dir, *include_dirs],
        extra_compile_args=cflags,
        extra_link_args=ldflags,
    )
    return ffi


def cdef(name):
    return os.path.join(NATIVE, "cdef", f"{name}.cdef")


# The binding's translation unit includes the headers the cdefs mirror, and no internal header
# (kernel compat definitions, the GL layer's private structs need GL headers).
ffibuilder = make_builder(
    "glcoherent._native",
    [cdef(n) for n in ("config", "vmem", "tracker", "arena", "shadow", "gl")],
    ["base/config.h", "base/vmem.h", "track/tracker.h", "core/arena.h", "core/shadow.h",
     "gl/wrap.h", "api/glcoherent.h", "api/loader.h"],
    layer_sources(*PRODUCT_LAYERS),
)

benchbuilder = make_builder(
    "glcoherent.bench._benchnative",
    [cdef("tracker"), os.path.join(NATIVE, "bench", "trackbench.cdef"),
     os.path.join(NATIVE, "bench", "bench_gl.cdef")],
    ["track/tracker.h", "bench/trackbench.h", "bench/bench_gl.h"],
    layer_sources("base", "track", "bench"),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
    benchbuilder.compile(verbose=True)
