"""Sync points bring GPU writes back into coherent maps: glFinish, glClientWaitSync polled with
timeout 0, glGetSynciv(SYNC_STATUS), a fence made in a shared context and waited in another,
synchronous readbacks. Shared contexts (one share group, one registry) and threads with their
own contexts.
"""

import ctypes
import threading
import time

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    COLOR_FS,
    COLOR_VS,
    RWPC,
    C,
    P,
    R,
    Target,
    W,
    arr,
    assert_color,
    assert_low,
    cleanup_draw,
    color_vao,
    delete_buffers,
    errors,
    fence,
    get_sub,
    pattern,
    program,
    raw,
    storage,
    triangle,
    wait_fence,
)

from glcoherent.egl import HeadlessContext

pytestmark = pytest.mark.gl

WRITE_CS = """#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 3) writeonly buffer Out { uint b[]; };
layout(location = 0) uniform uint k;
void main() { uint i = gl_GlobalInvocationID.x; b[i] = i * 7u + k; }
"""
# Fragment shader writes: llvmpipe runs them on its rasterizer threads when the scene is
# flushed, so the data lands in the buffer asynchronously.
WRITE_FS = """#version 450
layout(std430, binding = 3) writeonly buffer Out { uint b[]; };
layout(location = 0) uniform uint k;
out vec4 o;
void main() {
    uint i = uint(gl_FragCoord.y) * 8u + uint(gl_FragCoord.x);
    for (uint j = 0u; j < 16u; j++) b[i * 16u + j] = (i * 16u + j) * 7u + k;
    o = vec4(1.0);
}
"""
N = 1024  # uints written by either writer


class Writer:
    """GPU work that writes N uints into the SSBO at binding 3 (compute or fragment shader)."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "compute":
            self.prog = program(cs=WRITE_CS)
            self.tgt = self.vao = self.vbo = None
        else:
            self.prog = program(COLOR_VS, WRITE_FS)
            self.vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((0, 0, 0, 0)))
            self.vao = color_vao(self.vbo)
            self.tgt = Target()

    def run(self, k):
        GL.glUseProgram(self.prog)
        GL.glUniform1ui(0, k)
        if self.kind == "compute":
            raw.glDispatchCompute(N // 64, 1, 1)
        else:
            GL.glBindVertexArray(self.vao)
            self.tgt.bind()
            raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)

    @staticmethod
    def expect(k):
        return np.arange(N, dtype=np.uint32) * 7 + k

    def delete(self):
        cleanup_draw(vao=self.vao, prog=self.prog, target=self.tgt)
        if self.vbo:
            delete_buffers(self.vbo)


def _sync(kind):
    """Make GPU writes issued so far visible, by the sync kind under test. Returns a clean-up
    function to call after the client has read the map (it makes GL calls, which may poll)."""
    if kind == "finish":
        GL.glFinish()
    elif kind == "clientwait0":
        s = fence()
        wait_fence(s)  # timeout 0, polled
        return lambda: raw.glDeleteSync(s)
    elif kind == "getsynciv":
        s = fence()
        raw.glFlush()
        deadline = time.monotonic() + 10
        while True:
            v, n = ctypes.c_int(), ctypes.c_int()
            raw.glGetSynciv(s, GL.GL_SYNC_STATUS, 1, ctypes.byref(n), ctypes.byref(v))
            if v.value == GL.GL_SIGNALED:
                break
            assert time.monotonic() < deadline
        return lambda: raw.glDeleteSync(s)
    elif kind == "readback-getbuffersubdata":
        other = storage(GL.GL_COPY_READ_BUFFER, 16, 0)
        get_sub(GL.GL_COPY_READ_BUFFER, 0, 16)
        return lambda: delete_buffers(other)
    elif kind == "readback-readpixels":
        tgt = Target()
        tgt.pixels()
        return tgt.delete
    elif kind == "readback-getteximage":
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glTexStorage2D(GL.GL_TEXTURE_2D, 1, GL.GL_RGBA8, 1, 1)
        out = np.zeros(4, np.uint8)
        raw.glGetTexImage(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, out.ctypes.data)
        return lambda: GL.glDeleteTextures(1, [tex])
    else:
        raise AssertionError(kind)
    return lambda: None


SYNCS = ["finish", "clientwait0", "getsynciv", "readback-getbuffersubdata",
         "readback-readpixels", "readback-getteximage"]


@pytest.mark.parametrize("writer", ["compute", "fragment"])
@pytest.mark.parametrize("sync", SYNCS)
def test_sync_point_brings_gpu_writes_back(gl, limit, writer, sync):
    """The GPU writes a READ|PERSISTENT|COHERENT mapped SSBO; right after the sync point (no
    other GL call) the client sees the data through the map, three rounds in a row."""
    size = N * 4
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | P | C)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | P | C)
    assert_low(ptr, size, limit)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
    out = arr(ptr, N, np.uint32)
    w = Writer(writer)
    for k in range(3):
        w.run(k)
        done = _sync(sync)
        assert np.array_equal(out, Writer.expect(k)), f"round {k}"
        done()
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, 0)
    w.delete()
    delete_buffers(buf)


@pytest.fixture
def shared(gl, egl_context):
    """A second context sharing objects with the session context (current: the session one)."""
    ctx2 = HeadlessContext(share=egl_context, make_current=False)
    yield ctx2
    egl_context.make_current()
    ctx2.destroy()
    egl_context.make_current()


@pytest.mark.parametrize("writer", ["compute", "fragment"])
def test_fence_from_shared_context(gl, limit, egl_context, shared, writer):
    """GPU writes issued in context B; the fence is made in B and waited (timeout 0 polling) in
    context A, where the buffer was mapped: the data is visible through A's map. Then the
    reverse: the fence made in A, waited in B."""
    size = N * 4
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | P | C)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | P | C)
    assert_low(ptr, size, limit)
    out = arr(ptr, N, np.uint32)
    shared.make_current()
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
    wb = Writer(writer)
    wb.run(5)
    s = fence()
    raw.glFlush()
    egl_context.make_current()
    wait_fence(s)
    assert np.array_equal(out, Writer.expect(5))
    raw.glDeleteSync(s)
    # reverse: work in A, fence in A, wait in B
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
    wa = Writer(writer)
    wa.run(9)
    s = fence()
    raw.glFlush()
    shared.make_current()
    wait_fence(s)
    assert np.array_equal(out, Writer.expect(9))
    raw.glDeleteSync(s)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, 0)
    wb.delete()
    egl_context.make_current()
    wa.delete()
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, 0)
    GL.glBindBuffer(GL.GL_SHADER_STORAGE_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_SHADER_STORAGE_BUFFER)
    delete_buffers(buf)


def test_shared_context_map_here_draw_there(gl, limit, egl_context, shared):
    """A vertex buffer mapped persistently in context A, written by the client, drawn in
    context B (which shares it): B sees every write. glFinish in B brings back GPU writes to a
    buffer mapped in A."""
    vbo = storage(GL.GL_ARRAY_BUFFER, 4096, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
    assert_low(ptr, 4096, limit)
    rd = storage(GL.GL_COPY_WRITE_BUFFER, 4096, R | P | C)
    rptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, 4096, R | P | C)
    assert_low(rptr, 4096, limit)
    verts = arr(ptr + 512, 18, np.float32)
    prog = program(COLOR_VS, COLOR_FS)  # programs are shared
    shared.make_current()
    vao = color_vao(vbo, 512)  # VAOs and FBOs are not shared: made in B
    tgt = Target()
    GL.glUseProgram(prog)
    for rgba in ((255, 0, 0, 255), (0, 255, 0, 255), (7, 8, 9, 10)):
        verts[:] = triangle(rgba)  # the client writes while B is current
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    src = storage(GL.GL_COPY_READ_BUFFER, 4096, 0, pattern(4096, 2))
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, rd)
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, 4096)
    GL.glFinish()
    assert np.array_equal(arr(rptr, 4096), pattern(4096, 2))
    cleanup_draw(vao=vao, target=tgt)
    delete_buffers(src)  # deleting in B, the buffers mapped in A are unaffected
    egl_context.make_current()
    GL.glUseProgram(0)
    GL.glDeleteProgram(prog)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, rd)
    assert raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(vbo, rd)


def test_shared_context_delete_drops_shadow(gl, glc, limit, egl_context, shared):
    """A buffer mapped in A and deleted in B loses its shadow (one registry per share group)."""
    before = glc.stats().live_shadows
    buf = storage(GL.GL_COPY_WRITE_BUFFER, 4096, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    assert glc.stats().live_shadows == before + 1
    shared.make_current()
    delete_buffers(buf)
    assert glc.stats().live_shadows == before
    egl_context.make_current()


def _thread_persistent_draw(results, idx, rounds, share=None):
    """In a new thread: an own context (or one sharing `share`'s objects), a persistent
    coherent draw loop and a compute read loop."""
    try:
        ctx = HeadlessContext(share=share)
        limit = __import__("glcoherent").installed().instance.limit
        vbo = storage(GL.GL_ARRAY_BUFFER, 4096, W | P | C)
        ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
        assert_low(ptr, 4096, limit)
        prog = program(COLOR_VS, COLOR_FS)
        vao = color_vao(vbo, 0)
        tgt = Target()
        GL.glUseProgram(prog)
        verts = arr(ptr, 18, np.float32)
        for k in range(rounds):
            rgba = (k * 10 % 256, idx * 50, 255 - k, 255)
            verts[:] = triangle(rgba)
            tgt.clear()
            raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            assert_color(tgt.pixels(), rgba)
        size = N * 4
        buf = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | P | C)
        optr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | P | C)
        assert_low(optr, size, limit)
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
        w = Writer("compute")
        for k in range(rounds):
            w.run(k + idx)
            done = _sync("clientwait0")
            assert np.array_equal(arr(optr, N, np.uint32), Writer.expect(k + idx))
            done()
        w.delete()
        cleanup_draw(vao=vao, prog=prog, target=tgt)
        delete_buffers(vbo, buf)
        assert errors() == []
        HeadlessContext.release()
        ctx.destroy()
        results[idx] = "ok"
    except BaseException as e:  # noqa: BLE001 - reported by the main thread
        results[idx] = e


def test_threads_with_own_contexts(gl, limit, egl_context):
    """Two threads, each with its own context (own share group), map, draw and read
    concurrently with the main thread doing the same."""
    results = {}
    threads = [threading.Thread(target=_thread_persistent_draw, args=(results, i, 10))
               for i in (1, 2)]
    for t in threads:
        t.start()
    _thread_main_work(limit)
    for t in threads:
        t.join(60)
    egl_context.make_current()
    for i in (1, 2):
        if isinstance(results.get(i), BaseException):
            raise results[i]
        assert results.get(i) == "ok"


def _thread_main_work(limit):
    vbo = storage(GL.GL_ARRAY_BUFFER, 4096, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
    assert_low(ptr, 4096, limit)
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(vbo)
    tgt = Target()
    GL.glUseProgram(prog)
    for k in range(10):
        rgba = (k, 2 * k, 3 * k, 255)
        arr(ptr, 18, np.float32)[:] = triangle(rgba)
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(vbo)


def test_thread_with_shared_context_draws_main_threads_map(gl, limit, egl_context):
    """A buffer mapped on the main thread, drawn from a thread whose context shares it; the main
    thread writes new vertices while the thread is between draws (handshake by events)."""
    vbo = storage(GL.GL_ARRAY_BUFFER, 4096, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
    assert_low(ptr, 4096, limit)
    verts = arr(ptr + 1024, 18, np.float32)
    prog = program(COLOR_VS, COLOR_FS)
    GL.glFinish()
    colors = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)]
    ready, drawn = threading.Event(), threading.Event()
    box = {}

    def worker():
        try:
            ctx = HeadlessContext(share=egl_context)
            vao = color_vao(vbo, 1024)
            tgt = Target()
            GL.glUseProgram(prog)
            for rgba in colors:
                assert ready.wait(30)
                ready.clear()
                tgt.clear()
                raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
                assert_color(tgt.pixels(), rgba)
                drawn.set()
            cleanup_draw(vao=vao, target=tgt)
            HeadlessContext.release()
            ctx.destroy()
            box["ok"] = True
        except BaseException as e:  # noqa: BLE001
            box["err"] = e
            drawn.set()

    t = threading.Thread(target=worker)
    t.start()
    for rgba in colors:
        verts[:] = triangle(rgba)
        ready.set()
        assert drawn.wait(30)
        drawn.clear()
        if "err" in box:
            break
    t.join(30)
    if "err" in box:
        raise box["err"]
    assert box.get("ok")
    egl_context.make_current()
    GL.glDeleteProgram(prog)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    delete_buffers(vbo)


# A long draw (2048x2048 fragments, ~0.1 s on llvmpipe) whose result is complete only when
# every fragment ran: 64 counters that each end at 2048 * 2048 / 64.
BIG = 2048
COUNT_FS = """#version 450
layout(std430, binding = 3) buffer Out { uint b[]; };
out vec4 o;
void main() {
    atomicAdd(b[(uint(gl_FragCoord.x) + uint(gl_FragCoord.y) * 3u) & 63u], 1u);
    o = vec4(1.0);
}
"""


class BigDraw:
    """The long counting draw, set up in the current context."""

    def __init__(self):
        self.prog = program(COLOR_VS, COUNT_FS)
        self.vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((0, 0, 0, 0)))
        self.vao = color_vao(self.vbo)
        self.rb = GL.glGenRenderbuffers(1)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.rb)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_R8, BIG, BIG)
        self.fbo = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                     GL.GL_RENDERBUFFER, self.rb)

    def run(self):
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glViewport(0, 0, BIG, BIG)
        GL.glUseProgram(self.prog)
        GL.glBindVertexArray(self.vao)
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)

    def delete(self):
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        GL.glDeleteFramebuffers(1, [self.fbo])
        GL.glDeleteRenderbuffers(1, [self.rb])
        cleanup_draw(vao=self.vao, prog=self.prog)
        delete_buffers(self.vbo)


SLOW_SYNCS = ["finish", "clientwait-blocking", "readback-getbuffersubdata",
              "readback-readpixels", "shared-fence-blocking"]


@pytest.mark.parametrize("sync", SLOW_SYNCS)
def test_sync_point_after_slow_gpu_write(gl, limit, egl_context, sync):
    """A long draw (~0.1 s) writes a mapped READ|PERSISTENT|COHERENT SSBO, so the GPU is still
    busy when the sync call starts: the sync call itself (one blocking call, no polling loop)
    must bring the complete result back. shared-fence-blocking: the draw and the fence are in
    context B, the blocking wait in A."""
    size = 64 * 4
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | W | P | C)
    assert_low(ptr, size, limit)
    out = arr(ptr, 64, np.uint32)
    ctx2 = None
    for k in (1, 2):
        out[:] = 0
        if sync == "shared-fence-blocking":
            ctx2 = ctx2 or HeadlessContext(share=egl_context)
            ctx2.make_current()
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
        big = BigDraw()
        big.run()
        # The client reads the map right after the sync call returns: no GL call in between
        # (any wrapped call may poll, which would hide a missing copy-back here).
        other = None
        if sync == "finish":
            GL.glFinish()
            got = out.copy()
        elif sync == "clientwait-blocking":
            s = fence()
            r = raw.glClientWaitSync(s, GL.GL_SYNC_FLUSH_COMMANDS_BIT, 30 * 10**9)
            got = out.copy()
            assert r in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED)
            raw.glDeleteSync(s)
        elif sync == "readback-getbuffersubdata":
            other = storage(GL.GL_COPY_READ_BUFFER, 16, 0)
            dst = np.zeros(16, np.uint8)
            raw.glGetBufferSubData(GL.GL_COPY_READ_BUFFER, 0, 16, dst.ctypes.data)
            got = out.copy()
        elif sync == "readback-readpixels":
            px = np.zeros(4, np.uint8)
            raw.glReadPixels(0, 0, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, px.ctypes.data)
            got = out.copy()
        else:
            s = fence()
            raw.glFlush()
            egl_context.make_current()
            r = raw.glClientWaitSync(s, 0, 30 * 10**9)
            got = out.copy()
            assert r in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED)
            raw.glDeleteSync(s)
        if other:
            delete_buffers(other)
        assert (got == BIG * BIG // 64).all(), (k, got[:8])
        if ctx2:
            ctx2.make_current()
        big.delete()
        egl_context.make_current()
    if ctx2:
        ctx2.destroy()
        egl_context.make_current()
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, 0)
    GL.glBindBuffer(GL.GL_SHADER_STORAGE_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_SHADER_STORAGE_BUFFER)
    delete_buffers(buf)


def test_finish_in_one_context_does_not_cover_another_contexts_writes(gl, limit, egl_context):
    """Context B (on a thread) issues a long draw writing a buffer mapped in A. A calls
    glFinish: that covers only A's commands, so B's writes may be incomplete then, but they
    must not be forgotten: once B's fence is signalled (waited in A) the data is complete."""
    size = 64 * 4
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | W | P | C)
    assert_low(ptr, size, limit)
    out = arr(ptr, 64, np.uint32)
    out[:] = 0
    GL.glFinish()
    drawn, finished, fenced = threading.Event(), threading.Event(), threading.Event()
    box = {}

    def worker():
        try:
            ctx = HeadlessContext(share=egl_context)
            GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
            prog = program(COLOR_VS, COUNT_FS)
            vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((0, 0, 0, 0)))
            vao = color_vao(vbo)
            rb = GL.glGenRenderbuffers(1)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_R8, BIG, BIG)
            fbo = GL.glGenFramebuffers(1)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                         GL.GL_RENDERBUFFER, rb)
            GL.glViewport(0, 0, BIG, BIG)
            GL.glUseProgram(prog)
            raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            raw.glFlush()
            drawn.set()
            assert finished.wait(30)
            box["sync"] = fence()
            raw.glFlush()
            fenced.set()
            wait_fence(box["sync"])  # keep B alive until its work is done
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            GL.glDeleteFramebuffers(1, [fbo])
            GL.glDeleteRenderbuffers(1, [rb])
            cleanup_draw(vao=vao, prog=prog)
            delete_buffers(vbo)
            HeadlessContext.release()
            box["ctx"] = ctx
        except BaseException as e:  # noqa: BLE001
            box["err"] = e
            fenced.set()

    t = threading.Thread(target=worker)
    t.start()
    assert drawn.wait(30)
    GL.glFinish()  # A's finish: B's long draw may still be running (see test_gl_lowmem.py)
    finished.set()
    assert fenced.wait(30)
    t.join(30)
    if "err" in box:
        raise box["err"]
    wait_fence(box["sync"])
    raw.glDeleteSync(box["sync"])
    assert (out == BIG * BIG // 64).all(), out[:8]
    box["ctx"].destroy()
    egl_context.make_current()
    GL.glBindBuffer(GL.GL_SHADER_STORAGE_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_SHADER_STORAGE_BUFFER)
    delete_buffers(buf)
