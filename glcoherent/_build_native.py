"""cffi builder (API mode, out-of-line): compiles the product layers of glcoherent/native
(core/, track/, gl/, api/) into glcoherent._native.

The declarations exposed to Python live in glcoherent/native/cdef/*.cdef, one file per C module,
so the binding stays next to the headers it mirrors.
"""

import glob
import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "native")
sys.path.insert(0, os.path.dirname(HERE))
from setup_flags import PRODUCT_LAYERS, layer_sources, native_flags  # noqa: E402

# Declaration order matters (later files use earlier types); unknown files come last.
_ORDER = ["tracker", "arena", "shadow", "gl"]
_cdefs = sorted(
    glob.glob(os.path.join(NATIVE, "cdef", "*.cdef")),
    key=lambda p: (_ORDER.index(os.path.basename(p)[:-5])
                   if os.path.basename(p)[:-5] in _ORDER else len(_ORDER), p),
)
ffibuilder = FFI()
for path in _cdefs:
    with open(path) as f:
        ffibuilder.cdef(f.read())

_sources = layer_sources(*PRODUCT_LAYERS, "bench")
# The binding's translation unit includes the headers the cdefs mirror, and no internal header
# (kernel compat definitions, the GL layer's private structs need GL headers).
_headers = ["track/tracker.h", "core/arena.h", "core/shadow.h", "gl/wrap.h", "api/glcoherent.h",
            "api/loader.h", "bench/bench_gl.h", "bench/trackbench.h"]
_cflags, _ldflags = native_flags(strict=False)

ffibuilder.set_source(
    "glcoherent._native",
    "\n".join(f'#include "{h}"' for h in _headers),
    sources=_sources,
    include_dirs=[os.path.relpath(NATIVE, os.path.dirname(HERE))],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
