"""The shipped libraries hold the product only and export only what they must.

libglcoherent.so exports the public C API (glcoherent_get_api) and the SIGSEGV registry entry
that lets copies of the tracking layer in one process share one handler; the preload library
adds the interposed gl*/egl*/glX* entry points, dlsym, dlvsym, dlclose, the libc calls through
which the kernel writes into memory (read & co., prepared first: preload/kernel_writes.c) and its
instance. No bench or test code
(glc_bench*, glc_trackbench*, glc_test*) is in either, nor in glcoherent._native: that code lives
in glcoherent.bench._benchnative and the tests' own module (tests/native_helpers/).
"""

import os
import re
import shutil
import subprocess

import pytest

import glcoherent._native
from glcoherent.bench import _benchnative

PKG = os.path.dirname(os.path.abspath(glcoherent._native.__file__))
LIB = os.path.join(PKG, "libglcoherent.so")
PRELOAD = os.path.join(PKG, "libglcoherent_preload.so")
REGISTRY = "glcoherent_segv_registry_v1"
BENCH_OR_TEST = re.compile(r"^glc_(bench|trackbench|test)")
KERNEL_WRITES = {"read", "pread", "pread64", "readv", "preadv", "preadv64", "preadv2",
                 "preadv64v2", "recv", "recvfrom", "recvmsg", "fread"}

pytestmark = pytest.mark.skipif(not shutil.which("nm"), reason="nm not available")


def symbols(path, dynamic):
    """Names of the symbols path defines: the exported ones (dynamic) or all of them."""
    args = ["nm", "-D", "--defined-only", path] if dynamic else ["nm", "--defined-only", path]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


@pytest.mark.skipif(not os.path.exists(LIB), reason="libglcoherent.so not built")
def test_libglcoherent_exports_the_public_api_only():
    assert symbols(LIB, dynamic=True) == {"glcoherent_get_api", REGISTRY}


@pytest.mark.skipif(not os.path.exists(PRELOAD), reason="libglcoherent_preload.so not built")
def test_preload_exports_api_and_interposed_entry_points_only():
    allowed = {"dlsym", "dlvsym", "dlclose", "glcoherent_get_api", "glcoherent_preload_instance",
               REGISTRY, *KERNEL_WRITES}
    gl = re.compile(r"^(gl|egl|glX)[A-Z]\w*$")
    exported = symbols(PRELOAD, dynamic=True)
    extra = sorted(n for n in exported if n not in allowed and not gl.match(n))
    assert extra == []
    assert allowed <= exported
    assert {"glBufferStorage", "glMapBufferRange", "eglGetProcAddress",
            "glXGetProcAddressARB"} <= exported


@pytest.mark.parametrize("path", [LIB, PRELOAD, glcoherent._native.__file__],
                         ids=["libglcoherent", "preload", "_native"])
def test_no_bench_or_test_code_in_the_product(path):
    if not os.path.exists(path):
        pytest.skip(f"{os.path.basename(path)} not built")
    found = sorted(n for n in symbols(path, dynamic=False) if BENCH_OR_TEST.match(n))
    assert found == []


def test_bench_code_is_in_the_bench_module():
    """The pattern above does find bench code where it is (the check is not vacuous)."""
    found = {n for n in symbols(_benchnative.__file__, dynamic=False) if BENCH_OR_TEST.match(n)}
    assert {"glc_bench_create", "glc_trackbench_run"} <= found
