"""GPU results reach a coherent mapping with no GL call after the command that wrote them.

A glCopyBufferSubData into a persistent coherent chunk, and a query result written into a
persistent coherent query buffer (QUERY_BUFFER bound), each followed only by glFlush and then a
pure CPU spin on the mapping: no GL call, no fence. Prints one JSON line with the time each
result took to appear in the mapping (null when it did not appear within SPIN seconds).

    python no_gl_traffic.py [SPIN_SECONDS]
"""

from __future__ import annotations

import ctypes
import json
import sys
import time

import numpy as np

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
GL.glBufferData(GL.GL_COPY_READ_BUFFER, 256, np.full(256, 7, np.uint8), GL.GL_STATIC_DRAW)
finish()

out = {}
copy(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, AT, 256)
flush()
t = spin(lambda: m[AT] == 7 and m[AT + 255] == 7)
out["copy_ms"] = None if t is None else t * 1e3

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

finish()  # a sync point: now everything must be there in any case
out["after_sync"] = bool(m[AT] == 7 and q[2] != 0)
print(json.dumps(out))
