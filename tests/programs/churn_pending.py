"""Buffers with GPU writes pending are unmapped, re-specified and deleted right away, many times,
while the completion thread may be reading their pending ranges (tests/test_gl_no_traffic.py).
The driver frees their storage (1 MiB: malloc gives it back with munmap) behind the layer's
bookkeeping; the thread reads through the kernel and must never fault. Prints `ok N`."""

from __future__ import annotations

import sys

import numpy as np

from glcoherent.egl import HeadlessContext

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ctx = HeadlessContext()

import glcoherent  # noqa: E402

glcoherent.install()
from OpenGL import GL  # noqa: E402

F = GL.GL_MAP_READ_BIT | GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
SIZE = 1 << 20
src = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
GL.glBufferData(GL.GL_COPY_READ_BUFFER, 4096, np.full(4096, 5, np.uint8), GL.GL_STATIC_DRAW)
for i in range(ROUNDS):
    b = GL.glGenBuffers(1)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, b)
    GL.glBufferStorage(GL.GL_COPY_WRITE_BUFFER, SIZE, None, F | GL.GL_DYNAMIC_STORAGE_BIT)
    m = glcoherent.mapping_array(GL.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, SIZE, F), SIZE)
    m[:64] = 1
    GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 4096 * (i % 8),
                           4096)
    GL.glFlush()
    if i % 3 == 0:
        GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    GL.glDeleteBuffers(1, [b])
GL.glFinish()
print("ok", ROUNDS)
