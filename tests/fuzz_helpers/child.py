"""Prelude of the subprocesses test_faults.py starts: a headless context, glcoherent installed
(settings from the environment), log records captured, the two GL dispatch tables, and small
checks that compare what the GPU and the CPU see.

    from fuzz_helpers.child import *
    s = setup()
    ...
    done(result_dict)        # prints one JSON line the parent parses
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import subprocess
import sys

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fuzz_helpers import glapi as G  # noqa: E402
from fuzz_helpers.glapi import GLApi, view  # noqa: E402

RW_PC = G.GL_MAP_READ_BIT | G.GL_MAP_WRITE_BIT | G.GL_MAP_PERSISTENT_BIT | G.GL_MAP_COHERENT_BIT
PAGE = os.sysconf("SC_PAGE_SIZE")


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelname, record.getMessage()))


class Setup:
    pass


def setup():
    import glcoherent
    from glcoherent.egl import HeadlessContext

    s = Setup()
    s.records = Records()
    lg = logging.getLogger("glcoherent")
    lg.setLevel(logging.DEBUG)
    lg.addHandler(s.records)
    s.ctx = HeadlessContext()
    s.glc = glcoherent.install()
    s.inst = s.glc.instance
    s.N = GLApi.native()
    s.E = GLApi.emulated(s.inst)
    return s


def done(result):
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def make_buffer(A, size, flags=RW_PC | G.GL_DYNAMIC_STORAGE_BIT, data=None):
    b = A.create_buffer()
    A.glNamedBufferStorage(b, size, data, flags)
    return b


def gpu_bytes(s, A, name, offset, size, check=None):
    """What the GPU reads of name[offset:offset+size]: copied (through A) into a scratch buffer
    and read back straight from the driver (not a glcoherent sync point)."""
    own = check is None
    if own:
        check = make_buffer(s.N, size, G.GL_DYNAMIC_STORAGE_BIT)
    A.glCopyNamedBufferSubData(name, check, offset, 0, size)
    out = np.frombuffer(s.N.read(check, 0, size), np.uint8).copy()
    if own:
        s.N.delete_buffer(check)
    return out


def roundtrip(s, A, size=3 * PAGE + 123, seed=1):
    """A persistent coherent map through A: CPU writes (scattered and runs), the GPU reads them,
    the GPU writes (copy), glFinish, the CPU reads them. Returns a list of problems."""
    rng = np.random.default_rng(seed)
    problems = []
    init = rng.integers(0, 256, size, dtype=np.uint8)
    b = make_buffer(A, size, data=init.tobytes())
    p = A.glMapNamedBufferRange(b, 0, size, RW_PC)
    if not p:
        return [f"map failed: {A.errors()}"]
    m = view(p, size)
    if not np.array_equal(m, init):
        problems.append("map does not show the initial data")
    idx = rng.integers(0, size, 200)
    m[idx] = rng.integers(0, 256, idx.size, dtype=np.uint8)
    m[PAGE - 5:PAGE + 7] = 0xAB
    expect = m.copy()
    got = gpu_bytes(s, A, b, 0, size)
    if not np.array_equal(got, expect):
        problems.append(f"GPU misses CPU writes at {np.nonzero(got != expect)[0][:8].tolist()}")
    src = make_buffer(A, 64, G.GL_DYNAMIC_STORAGE_BIT, bytes(range(64)))
    A.glCopyNamedBufferSubData(src, b, 0, PAGE + 100, 64)
    A.glFinish()
    expect[PAGE + 100:PAGE + 164] = np.arange(64, dtype=np.uint8)
    if not np.array_equal(m, expect):
        problems.append(f"CPU misses GPU writes at {np.nonzero(m != expect)[0][:8].tolist()}")
    A.glUnmapNamedBuffer(b)
    A.delete_buffer(b)
    A.delete_buffer(src)
    errs = A.errors()
    if errs:
        problems.append(f"GL errors {errs}")
    return problems


def vma_count():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def build_helper(out_dir):
    """Compile faulthelp.c into out_dir; returns the ctypes library."""
    so = os.path.join(out_dir, "libfaulthelp.so")
    src = os.path.join(HERE, "faulthelp.c")
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-pthread", "-o", so, src], check=True)
    lib = ctypes.CDLL(so)
    lib.fh_install.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.fh_calls.restype = ctypes.c_ulong
    lib.fh_own.restype = ctypes.c_ulong
    lib.wr_start.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int]
    lib.wr_stop.restype = ctypes.c_uint64
    lib.vma_count.restype = ctypes.c_long
    lib.touch_pages.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                ctypes.c_uint8]
    lib.touch_pages.restype = ctypes.c_uint64
    return lib
