"""Range-exact flushes: every way a draw fetches vertices from a persistent coherent mapping.

The CPU rewrites the bytes a draw reads right before the draw (several rounds, new values each
time), the vertex shader passes every attribute and a uniform block through to transform
feedback, and the captured values must be exactly what the mapping holds: a draw whose read
range the layer gets wrong shows stale bytes. Covers glVertexAttribPointer, direct state
access, ARB_vertex_attrib_binding, divisors and base instance, indices in the mapping and in an
ordinary buffer, base vertex, DrawRangeElements, multi-draws, uniform-buffer ranges, primitive
restart, multi-bind (the model reads the driver's state back), vertex state set before
glcoherent saw it, and kernel writes (read(2) and friends) into a clean page before a draw.
Runs under every tracker (the suite runs once per GLCOHERENT_TRACKER).
"""

from __future__ import annotations

import ctypes
import os
import socket
from ctypes import POINTER, c_int, c_size_t, c_ssize_t, c_uint, c_void_p

import numpy as np
import pytest
from test_gl_helpers import RWPC, Target, assert_low, create_buffer, native, program

import glcoherent

pytestmark = pytest.mark.gl

SIZE = 1 << 20
STRIDE_OUT = 48  # oa, ob, ou: 3 x vec4 per captured vertex

VS = """#version 450
layout(location = 0) in vec4 a;
layout(location = 1) in vec4 b;
layout(std140, binding = 0) uniform U { vec4 u; };
out vec4 oa;
out vec4 ob;
out vec4 ou;
void main() { oa = a; ob = b; ou = u; gl_Position = vec4(0.0); }
"""

_PROTOS = {
    "glDrawArrays": [c_uint, c_int, c_int],
    "glDrawArraysInstancedBaseInstance": [c_uint, c_int, c_int, c_int, c_uint],
    "glDrawElements": [c_uint, c_int, c_uint, c_void_p],
    "glDrawElementsBaseVertex": [c_uint, c_int, c_uint, c_void_p, c_int],
    "glDrawRangeElements": [c_uint, c_uint, c_uint, c_int, c_uint, c_void_p],
    "glDrawElementsInstancedBaseVertexBaseInstance": [c_uint, c_int, c_uint, c_void_p, c_int,
                                                      c_int, c_uint],
    "glMultiDrawArrays": [c_uint, POINTER(c_int), POINTER(c_int), c_int],
    "glMultiDrawElementsBaseVertex": [c_uint, POINTER(c_int), c_uint, POINTER(c_void_p), c_int,
                                      POINTER(c_int)],
    "glVertexAttribPointer": [c_uint, c_int, c_uint, ctypes.c_ubyte, c_int, c_void_p],
    "glVertexArrayVertexBuffer": [c_uint, c_uint, c_uint, c_ssize_t, c_int],
    "glBindVertexBuffer": [c_uint, c_uint, c_ssize_t, c_int],
    "glBindVertexBuffers": [c_uint, c_int, POINTER(c_uint), POINTER(c_ssize_t), POINTER(c_int)],
    "glBindBufferRange": [c_uint, c_uint, c_uint, c_ssize_t, c_ssize_t],
    "glNamedBufferStorage": [c_uint, c_ssize_t, c_void_p, c_uint],
    "glNamedBufferData": [c_uint, c_ssize_t, c_void_p, c_uint],
    "glGetNamedBufferSubData": [c_uint, c_ssize_t, c_ssize_t, c_void_p],
    "glMapNamedBufferRange": [c_uint, c_ssize_t, c_ssize_t, c_uint],
}
_cache: dict = {}


def gl_fn(name):
    """The wrapped entry point with an exact prototype."""
    fn = _cache.get(name)
    if fn is None:
        addr = glcoherent.installed().instance.get_proc_address(name)
        restype = c_void_p if name.startswith("glMap") else None
        fn = ctypes.CFUNCTYPE(restype, *_PROTOS[name])(addr)
        _cache[name] = fn
    return fn


def create_vao(GL) -> int:
    a = np.zeros(1, np.uint32)
    GL.glCreateVertexArrays(1, a)
    return int(a[0])


class Rig:
    """One persistent coherent mapping P (vertex data, indices, uniforms), a capture buffer,
    the pass-through program."""

    def __init__(self, GL):
        self.GL = GL
        self.buf = create_buffer()
        gl_fn("glNamedBufferStorage")(self.buf, SIZE, None, RWPC | GL.GL_DYNAMIC_STORAGE_BIT)
        ptr = gl_fn("glMapNamedBufferRange")(self.buf, 0, SIZE, RWPC)
        assert_low(ptr, SIZE, glcoherent.installed().instance.limit)
        self.ptr = ptr
        self.mem = np.ctypeslib.as_array(ctypes.cast(ptr, POINTER(ctypes.c_uint8)), (SIZE,))
        self.f32 = self.mem.view(np.float32)
        self.cap = create_buffer()
        gl_fn("glNamedBufferStorage")(self.cap, 1 << 16, None, GL.GL_DYNAMIC_STORAGE_BIT)
        self.prog = program(vs=VS, xfb=["oa", "ob", "ou"])
        self.vao = create_vao(GL)
        self.rng = np.random.default_rng(7)
        self.ubo_at = 200_000
        self.target = Target()

    def close(self):
        GL = self.GL
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glUnmapNamedBuffer(self.buf)
        GL.glDeleteBuffers(2, [self.buf, self.cap])
        GL.glDeleteProgram(self.prog)
        self.target.delete()

    def fill(self, offset, nfloats):
        """New values at [offset, offset + 4 * nfloats): returns them."""
        v = self.rng.integers(-1000, 1000, nfloats).astype(np.float32) / 8
        self.f32[offset // 4:offset // 4 + nfloats] = v
        return v

    def vec4(self, offset):
        return self.f32[offset // 4:offset // 4 + 4].copy()

    def capture(self, n, draw):
        """Run draw() under transform feedback with a fresh uniform vec4; returns the n captured
        vertices as an (n, 3, 4) array and the uniform's value."""
        GL = self.GL
        self.ubo_at = 200_000 + (self.ubo_at + 256) % 4096
        u = self.fill(self.ubo_at, 4)
        gl_fn("glBindBufferRange")(GL.GL_UNIFORM_BUFFER, 0, self.buf, self.ubo_at, 16)
        GL.glUseProgram(self.prog)
        GL.glBindVertexArray(self.vao)
        GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, self.cap)
        GL.glEnable(GL.GL_RASTERIZER_DISCARD)
        GL.glBeginTransformFeedback(GL.GL_POINTS)
        draw()
        GL.glEndTransformFeedback()
        GL.glDisable(GL.GL_RASTERIZER_DISCARD)
        GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)
        out = np.zeros(n * STRIDE_OUT // 4, np.float32)
        gl_fn("glGetNamedBufferSubData")(self.cap, 0, n * STRIDE_OUT, out.ctypes.data)
        return out.reshape(n, 3, 4), u


@pytest.fixture
def rig(gl):
    r = Rig(gl)
    yield r
    r.close()


def check(out, u, want_a, want_b=None):
    assert (out[:, 2] == u).all(), "a uniform-buffer range was not flushed before the draw"
    np.testing.assert_array_equal(out[:, 0], np.array(want_a), "attribute 0 read stale bytes")
    if want_b is not None:
        np.testing.assert_array_equal(out[:, 1], np.array(want_b),
                                      "attribute 1 read stale bytes")


def pointer_setup(rig, base, stride):
    GL = rig.GL
    GL.glBindVertexArray(rig.vao)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, rig.buf)
    gl_fn("glVertexAttribPointer")(0, 4, GL.GL_FLOAT, 0, stride, base)
    gl_fn("glVertexAttribPointer")(1, 4, GL.GL_FLOAT, 0, stride, base + 16)
    GL.glEnableVertexAttribArray(0)
    GL.glEnableVertexAttribArray(1)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)


def test_draw_arrays_with_attrib_pointers(rig):
    base, stride = 1024, 48
    pointer_setup(rig, base, stride)
    for rnd in range(4):
        first, count = 5 + rnd, 7
        rig.fill(base + first * stride, (count * stride) // 4)
        out, u = rig.capture(count, lambda f=first, n=count: gl_fn("glDrawArrays")(
            rig.GL.GL_POINTS, f, n))
        check(out, u, [rig.vec4(base + (first + i) * stride) for i in range(count)],
              [rig.vec4(base + (first + i) * stride + 16) for i in range(count)])


def test_dsa_format_divisor_and_base_instance(rig):
    GL = rig.GL
    vao = rig.vao
    gl_fn("glVertexArrayVertexBuffer")(vao, 2, rig.buf, 8192, 48)
    GL.glVertexArrayAttribFormat(vao, 0, 4, GL.GL_FLOAT, GL.GL_FALSE, 16)
    GL.glVertexArrayAttribBinding(vao, 0, 2)
    GL.glEnableVertexArrayAttrib(vao, 0)
    gl_fn("glVertexArrayVertexBuffer")(vao, 3, rig.buf, 16384, 16)
    GL.glVertexArrayAttribFormat(vao, 1, 4, GL.GL_FLOAT, GL.GL_FALSE, 0)
    GL.glVertexArrayAttribBinding(vao, 1, 3)
    GL.glVertexArrayBindingDivisor(vao, 3, 2)
    GL.glEnableVertexArrayAttrib(vao, 1)
    first, count, inst, base_inst = 2, 5, 3, 4
    for _ in range(3):
        rig.fill(8192, 48 * 8 // 4)
        rig.fill(16384, 16 * 8 // 4)
        out, u = rig.capture(count * inst, lambda: gl_fn("glDrawArraysInstancedBaseInstance")(
            GL.GL_POINTS, first, count, inst, base_inst))
        want_a = [rig.vec4(8192 + 16 + (first + i) * 48) for _ in range(inst) for i in range(count)]
        want_b = [rig.vec4(16384 + (base_inst + k // 2) * 16) for k in range(inst)
                  for _ in range(count)]
        check(out, u, want_a, want_b)


def test_bind_vertex_buffer_moved_per_draw(rig):
    """The vertex buffer re-bound at a new offset before each draw (a no-overwrite stream)."""
    GL = rig.GL
    GL.glBindVertexArray(rig.vao)
    GL.glVertexAttribFormat(0, 4, GL.GL_FLOAT, GL.GL_FALSE, 0)
    GL.glVertexAttribBinding(0, 0)
    GL.glEnableVertexAttribArray(0)
    for k in range(6):
        off = 65536 + k * 4096
        rig.fill(off, 4 * 4)
        gl_fn("glBindVertexBuffer")(0, rig.buf, off, 16)
        out, u = rig.capture(4, lambda: gl_fn("glDrawArrays")(GL.GL_POINTS, 0, 4))
        check(out, u, [rig.vec4(off + 16 * i) for i in range(4)])


def _indices(rig, at, values, dtype):
    arr = np.array(values, dtype)
    rig.mem[at:at + arr.nbytes] = arr.view(np.uint8)
    return arr


@pytest.mark.parametrize("kind", ["elements", "basevertex", "range", "instanced"])
def test_indices_in_the_mapping(rig, kind):
    """Indices written by the CPU into the mapping itself: the vertex range comes from them."""
    GL = rig.GL
    base, stride = 32768, 16
    GL.glBindVertexArray(rig.vao)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, rig.buf)
    gl_fn("glVertexAttribPointer")(0, 4, GL.GL_FLOAT, 0, stride, base)
    GL.glEnableVertexAttribArray(0)
    GL.glDisableVertexAttribArray(1)
    GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, rig.buf)
    at = 300_000
    for _ in range(4):
        idx = _indices(rig, at, rig.rng.integers(0, 60, 9), np.uint16)
        bv = 3 if kind in ("basevertex", "instanced") else 0
        lo, hi = int(idx.min()), int(idx.max())
        rig.fill(base, 70 * 4)
        f = {
            "elements": lambda: gl_fn("glDrawElements")(GL.GL_POINTS, 9, GL.GL_UNSIGNED_SHORT,
                                                         at),
            "basevertex": lambda bv=bv: gl_fn("glDrawElementsBaseVertex")(
                GL.GL_POINTS, 9, GL.GL_UNSIGNED_SHORT, at, bv),
            "range": lambda lo=lo, hi=hi: gl_fn("glDrawRangeElements")(
                GL.GL_POINTS, lo, hi, 9, GL.GL_UNSIGNED_SHORT, at),
            "instanced": lambda bv=bv: gl_fn("glDrawElementsInstancedBaseVertexBaseInstance")(
                GL.GL_POINTS, 9, GL.GL_UNSIGNED_SHORT, at, 2, bv, 1),
        }[kind]
        n = 18 if kind == "instanced" else 9
        out, u = rig.capture(n, f)
        want = [rig.vec4(base + (int(i) + bv) * stride) for i in idx]
        check(out, u, want * (2 if kind == "instanced" else 1))


def test_indices_in_an_ordinary_buffer(rig):
    """Indices the layer cannot read (an ordinary buffer): the vertex range is unknown, so
    everything the attribute may reach is made current."""
    GL = rig.GL
    base, stride = 40000, 16
    ib = create_buffer()
    idx = np.array([3, 900, 17, 4000], np.uint32)
    gl_fn("glNamedBufferData")(ib, idx.nbytes, idx.ctypes.data, GL.GL_STATIC_DRAW)
    GL.glBindVertexArray(rig.vao)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, rig.buf)
    gl_fn("glVertexAttribPointer")(0, 4, GL.GL_FLOAT, 0, stride, base)
    GL.glEnableVertexAttribArray(0)
    GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, ib)
    try:
        for _ in range(3):
            for i in idx:
                rig.fill(base + int(i) * stride, 4)
            out, u = rig.capture(4, lambda: gl_fn("glDrawElements")(
                GL.GL_POINTS, 4, GL.GL_UNSIGNED_INT, 0))
            check(out, u, [rig.vec4(base + int(i) * stride) for i in idx])
    finally:
        GL.glBindVertexArray(0)
        GL.glDeleteBuffers(1, [ib])


def test_primitive_restart_index_is_not_a_vertex(rig):
    GL = rig.GL
    base = 50000
    pointer_setup(rig, base, 32)
    GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, rig.buf)
    at = 310_000
    GL.glEnable(GL.GL_PRIMITIVE_RESTART_FIXED_INDEX)
    try:
        for _ in range(3):
            _indices(rig, at, [4, 0xFFFF, 1, 2, 0xFFFF], np.uint16)
            rig.fill(base, 8 * 32 // 4)
            out, u = rig.capture(3, lambda: gl_fn("glDrawElements")(
                GL.GL_POINTS, 5, GL.GL_UNSIGNED_SHORT, at))
            check(out, u, [rig.vec4(base + 32 * i) for i in (4, 1, 2)])
    finally:
        GL.glDisable(GL.GL_PRIMITIVE_RESTART_FIXED_INDEX)


def test_multi_draws(rig):
    GL = rig.GL
    base, stride = 70000, 32
    pointer_setup(rig, base, stride)
    firsts, counts = [2, 40, 90], [3, 2, 4]
    for _ in range(3):
        for f, n in zip(firsts, counts):
            rig.fill(base + f * stride, n * stride // 4)
        out, u = rig.capture(sum(counts), lambda: gl_fn("glMultiDrawArrays")(
            GL.GL_POINTS, (c_int * 3)(*firsts), (c_int * 3)(*counts), 3))
        check(out, u, [rig.vec4(base + (f + i) * stride)
                       for f, n in zip(firsts, counts) for i in range(n)])
    GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, rig.buf)
    at0, at1 = 320_000, 330_000
    for _ in range(3):
        i0 = _indices(rig, at0, rig.rng.integers(0, 30, 4), np.uint32)
        i1 = _indices(rig, at1, rig.rng.integers(100, 130, 3), np.uint32)
        rig.fill(base, 140 * stride // 4)
        out, u = rig.capture(7, lambda: gl_fn("glMultiDrawElementsBaseVertex")(
            GL.GL_POINTS, (c_int * 2)(4, 3), GL.GL_UNSIGNED_INT, (c_void_p * 2)(at0, at1), 2,
            (c_int * 2)(0, 5)))
        check(out, u, [rig.vec4(base + int(i) * stride) for i in i0] +
              [rig.vec4(base + (int(i) + 5) * stride) for i in i1])


def test_multi_bind_is_read_back(rig):
    """glBindVertexBuffers is not modelled: the layer reads the driver's bindings back."""
    GL = rig.GL
    GL.glBindVertexArray(rig.vao)
    GL.glVertexAttribFormat(0, 4, GL.GL_FLOAT, GL.GL_FALSE, 0)
    GL.glVertexAttribBinding(0, 1)
    GL.glEnableVertexAttribArray(0)
    for k in range(4):
        off = 90000 + k * 8192
        rig.fill(off, 3 * 4)
        gl_fn("glBindVertexBuffers")(1, 1, (c_uint * 1)(rig.buf), (c_ssize_t * 1)(off),
                                     (c_int * 1)(16))
        out, u = rig.capture(3, lambda: gl_fn("glDrawArrays")(GL.GL_POINTS, 0, 3))
        check(out, u, [rig.vec4(off + 16 * i) for i in range(3)])


def test_vertex_state_set_behind_the_layer(rig, glc):
    """State set while glcoherent does not see the calls (before install, or another library):
    the layer must not trust its model of that VAO blindly."""
    GL = rig.GL
    vao2 = create_vao(GL)
    base = 120000
    try:
        with native(glc):
            GL.glBindVertexArray(vao2)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, rig.buf)
            GL.glVertexAttribPointer(0, 4, GL.GL_FLOAT, GL.GL_FALSE, 16, ctypes.c_void_p(base))
            GL.glEnableVertexAttribArray(0)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
            GL.glBindVertexArray(0)
        rig.vao, old = vao2, rig.vao
        try:
            for _ in range(3):
                rig.fill(base, 5 * 4)
                out, u = rig.capture(5, lambda: gl_fn("glDrawArrays")(GL.GL_POINTS, 0, 5))
                check(out, u, [rig.vec4(base + 16 * i) for i in range(5)])
        finally:
            rig.vao = old
    finally:
        GL.glBindVertexArray(0)
        GL.glDeleteVertexArrays(1, [vao2])


_libc = ctypes.CDLL(None, use_errno=True)
_libc.read.argtypes = [c_int, c_void_p, c_size_t]
_libc.read.restype = c_ssize_t
_libc.pread.argtypes = [c_int, c_void_p, c_size_t, ctypes.c_long]
_libc.pread.restype = c_ssize_t


def _kernel_write(how, dest, payload):
    """The kernel writes payload into memory `dest` (a memoryview of the mapping)."""
    addr = ctypes.addressof(ctypes.c_char.from_buffer(dest))
    if how in ("read", "pread", "readv", "preadv"):
        r, w = os.pipe() if how in ("read", "readv") else (None, None)
        if how in ("pread", "preadv"):
            import tempfile
            f = tempfile.TemporaryFile()
            f.write(payload)
            f.flush()
            fd = f.fileno()
        else:
            os.write(w, payload)
            fd = r
        try:
            n = {"read": lambda: _libc.read(fd, addr, len(payload)),
                 "pread": lambda: _libc.pread(fd, addr, len(payload), 0),
                 "readv": lambda: os.readv(fd, [dest]),
                 "preadv": lambda: os.preadv(fd, [dest], 0)}[how]()
            if n < 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return n
        finally:
            if r is not None:
                os.close(r)
                os.close(w)
            else:
                f.close()
    a, b = socket.socketpair()
    try:
        a.sendall(payload)
        if how == "recv":
            return b.recv_into(dest)
        if how == "recvfrom":
            return b.recvfrom_into(dest)[0]
        return b.recvmsg_into([dest])[0]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("how", ["read", "pread", "readv", "preadv", "recv", "recvfrom",
                                 "recvmsg"])
def test_kernel_writes_into_a_clean_page_then_draw(rig, glc, how):
    """The kernel writes vertex data straight into a page nobody wrote since the last draw;
    the draw must see it. Works as it is under the default and uffd and copy; the mprotect
    tracker write-protects pages, so there the program prepares the range first (the
    interposer does that itself around these calls)."""
    GL = rig.GL
    base = 500_000 - 500_000 % 4096 + 4096 * 3
    pointer_setup(rig, base, 32)
    rig.fill(base, 8 * 8)
    rig.capture(8, lambda: gl_fn("glDrawArrays")(GL.GL_POINTS, 0, 8))  # pages clean now
    payload = (rig.rng.integers(-99, 99, 64).astype(np.float32) / 4).tobytes()
    dest = memoryview(rig.mem)[base:base + len(payload)].cast("B")
    if "mprotect" in glc.instance.stats().tracker_name:
        glcoherent.prepare_kernel_write(rig.ptr + base, len(payload))
    assert _kernel_write(how, dest, payload) == len(payload)
    out, u = rig.capture(8, lambda: gl_fn("glDrawArrays")(GL.GL_POINTS, 0, 8))
    check(out, u, [rig.vec4(base + 32 * i) for i in range(8)],
          [rig.vec4(base + 32 * i + 16) for i in range(8)])
    assert bytes(rig.mem[base:base + len(payload)]) == payload
