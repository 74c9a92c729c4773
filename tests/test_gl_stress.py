"""Small stress cases: the adaptive tracker switching modes under a byte-exact merge, many live
mappings at once, a large mapping written sparsely, tiny maps."""

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    RWPC,
    C,
    P,
    R,
    W,
    arr,
    assert_low,
    delete_buffers,
    fence_and_wait,
    get_sub,
    pattern,
    program,
    raw,
    storage,
)

pytestmark = pytest.mark.gl

T = GL.GL_COPY_WRITE_BUFFER
S = GL.GL_COPY_READ_BUFFER

BUMP = """#version 450
layout(local_size_x = 4) in;
layout(std430, binding = 4) buffer B { uint v[]; };
void main() { v[gl_GlobalInvocationID.x * 1024u] += 1u; }  // first uint of each page
"""


def test_hot_buffer_mode_switches_stay_byte_exact(gl, glc, limit):
    """The CPU rewrites every page of a READ|WRITE coherent SSBO each round (the adaptive policy
    moves it to whole-range copies and, 64 flushes later, back to tracking) while a shader
    increments the first uint of each page: after every fence both sides' bytes are right."""
    pages = 4
    n = pages * 1024
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, n * 4, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, n * 4, RWPC)
    assert_low(ptr, n * 4, limit)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 4, buf)
    v = arr(ptr, n, np.uint32)
    v[:] = 0
    prog = program(cs=BUMP)
    GL.glUseProgram(prog)
    gpu = np.arange(pages) * 1024
    cpu = np.setdiff1d(np.arange(n), gpu)
    for k in range(75):
        v[cpu] = k  # every page dirty
        raw.glDispatchCompute(1, 1, 1)
        fence_and_wait()
        assert (v[gpu] == k + 1).all(), (k, v[gpu])
        assert (v[cpu] == k).all(), k
    assert (get_sub(GL.GL_SHADER_STORAGE_BUFFER, 0, n * 4).view(np.uint32)[gpu] == 75).all()
    GL.glUseProgram(0)
    GL.glDeleteProgram(prog)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 4, 0)
    delete_buffers(buf)


def test_many_live_mappings(gl, glc, limit):
    """150 persistent mappings at once (the registry grows), each written and checked through a
    copy, then all deleted: no shadow left behind."""
    before = glc.stats().live_shadows
    bufs, ptrs = [], []
    for i in range(150):
        size = 256 + 64 * i
        b = storage(T, size, RWPC)
        p = raw.glMapBufferRange(T, 0, size, RWPC)
        assert_low(p, size, limit)
        arr(p, size)[:] = i & 0xFF
        bufs.append((b, size))
        ptrs.append(p)
    assert glc.stats().live_shadows == before + 150
    dst = storage(S, 256 + 64 * 150, GL.GL_DYNAMIC_STORAGE_BIT)
    for i, (b, size) in enumerate(bufs[::7]):
        GL.glBindBuffer(T, b)
        raw.glCopyBufferSubData(T, S, 0, 0, size)
        assert (get_sub(S, 0, size) == (i * 7) & 0xFF).all()
    # GPU writes into every 10th mapping come back
    for b, _size in bufs[::10]:
        GL.glBindBuffer(T, b)
        raw.glCopyBufferSubData(S, T, 0, 0, 16)
    fence_and_wait()
    last = (((len(bufs) - 1) // 7) * 7) & 0xFF  # what the last copy left in S
    for p in ptrs[::10]:
        assert (arr(p, 16) == last).all()
    delete_buffers(*[b for b, _ in bufs], dst)
    assert glc.stats().live_shadows == before


def test_large_sparse_mapping(gl, limit):
    """A 32 MiB persistent coherent mapping: scattered single-byte client writes all arrive,
    and a GPU write in the middle comes back, with nothing else changed."""
    size = 32 << 20
    buf = storage(T, size, RWPC)
    ptr = raw.glMapBufferRange(T, 0, size, RWPC)
    assert_low(ptr, size, limit)
    v = arr(ptr, size)
    idx = np.arange(1, size, 1 << 16) + 17
    idx = idx[idx < size]
    v[idx] = 0x5C
    got = np.zeros(size, np.uint8)
    raw.glGetBufferSubData(T, 0, size, got.ctypes.data)
    assert (got[idx] == 0x5C).all() and int(got.sum()) == 0x5C * len(idx)
    src = storage(S, 4096, 0, pattern(4096, 4))
    GL.glBindBuffer(T, buf)
    raw.glCopyBufferSubData(S, T, 0, 16 << 20, 4096)
    fence_and_wait()
    assert np.array_equal(v[16 << 20:(16 << 20) + 4096], pattern(4096, 4))
    outside = idx[(idx < 16 << 20) | (idx >= (16 << 20) + 4096)]
    assert (v[outside] == 0x5C).all()
    raw.glUnmapBuffer(T)
    delete_buffers(buf, src)


@pytest.mark.parametrize("persistent", [True, False])
def test_tiny_maps(gl, limit, persistent):
    """1-byte and 3-byte maps at odd offsets."""
    extra = P | C if persistent else 0
    buf = storage(T, 4096, R | W | extra, pattern(4096, 6))
    want = pattern(4096, 6)
    for off, length in ((0, 1), (4095, 1), (2047, 3), (4093, 3)):
        p = raw.glMapBufferRange(T, off, length, R | W | extra)
        assert_low(p, length, limit)
        v = arr(p, length)
        assert np.array_equal(v, want[off:off + length])
        v[:] = 0xFF - v
        want[off:off + length] = 0xFF - want[off:off + length]
        if persistent:
            assert np.array_equal(get_sub(T, 0, 4096), want)
            GL.glBindBuffer(T, buf)
        assert raw.glUnmapBuffer(T)
        assert np.array_equal(get_sub(T, 0, 4096), want)
    delete_buffers(buf)


def test_write_only_persistent_map_sees_gpu_writes(gl, limit):
    """A WRITE|PERSISTENT|COHERENT map (no READ bit) of a buffer the GPU writes: piglit's
    bufferstorage-persistent read reads the results through such a pointer, which drivers
    allow; the client's own bytes in the same page survive."""
    size = 4096
    buf = storage(T, size, W | P | C)
    ptr = raw.glMapBufferRange(T, 0, size, W | P | C)
    assert_low(ptr, size, limit)
    v = arr(ptr, size)
    v[:] = 1
    src = storage(S, 256, 0, pattern(256, 2))
    GL.glBindBuffer(T, buf)
    raw.glCopyBufferSubData(S, T, 0, 512, 256)
    v[0:8] = 9
    fence_and_wait()
    want = np.ones(size, np.uint8)
    want[512:768] = pattern(256, 2)
    want[0:8] = 9
    assert np.array_equal(v, want)
    raw.glUnmapBuffer(T)
    delete_buffers(buf, src)
