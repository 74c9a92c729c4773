"""GPU results reach a coherent mapping with no GL call after the command that wrote them.

A glCopyBufferSubData into a persistent coherent chunk, a query result written into a
persistent coherent query buffer (QUERY_BUFFER bound), and a compute shader writing a 1 KiB
storage-buffer range (glBindBufferRange) in the middle of a 16 MiB persistent coherent buffer,
each followed only by glFlush and then a pure CPU spin on the mapping: no GL call, no fence.
Prints one JSON line with the time each result took to appear in the mapping (null when it did
not appear within SPIN seconds). The shader case checks that a write recorded for a bound range
(not the whole buffer) still arrives, and leaves the bytes around it alone. The copy is 4 KiB
(above GLC_PEEK_MAX_BYTES, so only the completion thread brings it); a second, 64-byte copy
("small_copy") is looked at once inside the call, which is enough where the driver completes it
there (llvmpipe: "renderer" says which driver ran).

    python no_gl_traffic.py [SPIN_SECONDS]
"""

from __future__ import annotations

import ctypes
import json
import sys
import time

import numpy as np
import OpenGL.GL.shaders  # noqa: F401 - GL.shaders below

from glcoherent.egl import HeadlessContext

SPIN = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
ctx = HeadlessContext()

import glcoherent  # noqa: E402

glc = glcoherent.install()
from OpenGL import GL  # noqa: E402

F = GL.GL_MAP_READ_BIT | GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
SIZE = 1 << 20
AT = 4096


def raw(name, restype, *argtypes):
    addr = glc.instance.get_proc_address(name)
    return ctypes.CFUNCTYPE(restype, *argtypes)(addr)


copy = raw("glCopyBufferSubData", None, ctypes.c_uint, ctypes.c_uint, ctypes.c_ssize_t,
           ctypes.c_ssize_t, ctypes.c_ssize_t)
get_query = raw("glGetQueryObjectui64v", None, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p)
flush = raw("glFlush", None)
finish = raw("glFinish", None)


def spin(cond) -> float | None:
    """Seconds until cond() holds, with no GL call in between; None after SPIN seconds."""
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > SPIN:
            return None
    return time.perf_counter() - t0


chunk = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, chunk)
GL.glBufferStorage(GL.GL_COPY_WRITE_BUFFER, SIZE, None, F)
m = glcoherent.mapping_array(GL.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, SIZE, F), SIZE)
m[:] = 1
src = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
COPY, SMALL, SMALL_AT = 4096, 64, 3 * AT
GL.glBufferData(GL.GL_COPY_READ_BUFFER, COPY, np.full(COPY, 7, np.uint8), GL.GL_STATIC_DRAW)
finish()

out = {"renderer": GL.glGetString(GL.GL_RENDERER).decode(errors="replace")}
copy(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, AT, COPY)
flush()
t = spin(lambda: m[AT] == 7 and m[AT + COPY - 1] == 7)
out["copy_ms"] = None if t is None else t * 1e3
finish()
copy(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, SMALL_AT, SMALL)
flush()
t = spin(lambda: m[SMALL_AT] == 7 and m[SMALL_AT + SMALL - 1] == 7)
out["small_copy_ms"] = None if t is None else t * 1e3

qbuf = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_QUERY_BUFFER, qbuf)
GL.glBufferStorage(GL.GL_QUERY_BUFFER, 64, np.zeros(64, np.uint8), F)
q = glcoherent.mapping_array(GL.glMapBufferRange(GL.GL_QUERY_BUFFER, 0, 64, F), 64, np.uint64)
query = int(np.ravel(GL.glGenQueries(1))[0])
finish()
GL.glQueryCounter(query, GL.GL_TIMESTAMP)
get_query(query, GL.GL_QUERY_RESULT, ctypes.c_void_p(16))
flush()
t = spin(lambda: q[2] != 0)
out["query_ms"] = None if t is None else t * 1e3

CS = """#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Out { uint v[]; };
void main() { v[gl_GlobalInvocationID.x] = 0xC0FFEE00u + gl_GlobalInvocationID.x; }
"""
BIG, RANGE_AT, RANGE = 16 << 20, 8 << 20, 1024
big = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_SHADER_STORAGE_BUFFER, big)
GL.glBufferStorage(GL.GL_SHADER_STORAGE_BUFFER, BIG, np.zeros(BIG, np.uint8), F)
w = glcoherent.mapping_array(GL.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, BIG, F), BIG,
                             np.uint32)
prog = GL.shaders.compileProgram(GL.shaders.compileShader(CS, GL.GL_COMPUTE_SHADER))
GL.glUseProgram(prog)
GL.glBindBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, big, RANGE_AT, RANGE)
first, last = RANGE_AT // 4, (RANGE_AT + RANGE) // 4 - 1
finish()
dispatch = raw("glDispatchCompute", None, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint)
dispatch(RANGE // 4 // 64, 1, 1)
flush()
t = spin(lambda: w[first] == 0xC0FFEE00 and w[last] == 0xC0FFEE00 + RANGE // 4 - 1)
out["shader_ms"] = None if t is None else t * 1e3

finish()  # a sync point: now everything must be there in any case
out["after_sync"] = bool(m[AT] == 7 and m[SMALL_AT] == 7 and q[2] != 0
                         and w[last] == 0xC0FFEE00 + RANGE // 4 - 1
                         and w[first - 1] == 0 and w[last + 1] == 0)
print(json.dumps(out))
