"""Behaviour that needs a fresh process: a small low arena (GLCOHERENT_LIMIT=8M) running out,
and GL name reuse (Mesa reuses buffer names only with force_gl_names_reuse=true, read when the
context is created).
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gl

TESTS = os.path.dirname(os.path.abspath(__file__))

PRELUDE = f"""
import logging, os, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="LOG %(name)s %(levelname)s %(message)s")
sys.path.insert(0, {TESTS!r})
from glcoherent.egl import HeadlessContext
ctx = HeadlessContext()
import glcoherent
glc = glcoherent.install()
from OpenGL import GL
import numpy as np
from test_gl_helpers import *
T, S = GL.GL_COPY_WRITE_BUFFER, GL.GL_COPY_READ_BUFFER
limit = glc.instance.limit
MB = 1 << 20
"""


def run_script(body, **env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    env.setdefault("PYOPENGL_PLATFORM", "egl")
    p = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "DONE" in p.stdout, p.stdout + p.stderr
    return p


LOWMEM = """
assert limit == 8 * MB, hex(limit)
# A: 3 MiB persistent map: fits
a = storage(T, 3 * MB, RWPC)
pa = raw.glMapBufferRange(T, 0, 3 * MB, RWPC)
assert_low(pa, 3 * MB, limit)
va = arr(pa, 3 * MB)
va[:] = 0x11
# B: 16 MiB cannot fit below 8 MiB: NULL and GL_OUT_OF_MEMORY, buffer left unmapped
b = storage(T, 16 * MB, RWPC)
assert raw.glMapBufferRange(T, 0, 16 * MB, RWPC) is None
assert errors() == [GL.GL_OUT_OF_MEMORY]
assert buffer_params(T)["GL_BUFFER_MAPPED"] == 0
assert glc.stats().oom == 1
# a plain map that does not fit fails the same way
assert raw.glMapBufferRange(T, 0, 16 * MB, R) is None
assert errors() == [GL.GL_OUT_OF_MEMORY]
# a driver error before the failed map comes first, then ours, then nothing
raw.glBufferStorage(T, 64, None, W)           # immutable: INVALID_OPERATION (driver)
assert raw.glMapBufferRange(T, 0, 16 * MB, RWPC) is None
raw.glBufferStorage(T, 64, None, 0x80000000)  # a driver error after ours
_e = errors()
assert _e == [GL.GL_INVALID_OPERATION, GL.GL_OUT_OF_MEMORY, GL.GL_INVALID_VALUE], \\
    ("error order", _e)
# C: 3 MiB fits next to A; D: 3 MiB more does not (3 + 3 + 3 > 8 - 0.0625)
c = storage(T, 3 * MB, W | P | C)
pc = raw.glMapBufferRange(T, 0, 3 * MB, W | P | C)
assert_low(pc, 3 * MB, limit)
d = storage(T, 3 * MB, R | W | P | C | DYN)
assert raw.glMapBufferRange(T, 0, 3 * MB, RWPC) is None
assert errors() == [GL.GL_OUT_OF_MEMORY]
# A and C keep working: client writes reach the GPU, GPU writes come back
va[100:200] = 0x22
GL.glBindBuffer(T, a)
assert (get_sub(T, 0, 300)[100:200] == 0x22).all() and get_sub(T, 0, 100).max() == 0x11
src = storage(S, 4096, 0, np.full(4096, 0x33, np.uint8))
GL.glBindBuffer(T, a)
raw.glCopyBufferSubData(S, T, 0, MB, 4096)
fence_and_wait()
assert (va[MB:MB + 4096] == 0x33).all() and va[MB - 1] == 0x11 and va[MB + 4096] == 0x11
arr(pc, 3 * MB)[-1] = 0x44
GL.glBindBuffer(T, c)
assert get_sub(T, 3 * MB - 1, 1)[0] == 0x44
# freeing A (unmap) makes room: D maps now, below the limit, in the space A used
GL.glBindBuffer(T, a)
assert raw.glUnmapBuffer(T)
GL.glBindBuffer(T, d)
pd = raw.glMapBufferRange(T, 0, 3 * MB, RWPC)
assert_low(pd, 3 * MB, limit)
assert pa <= pd < pa + 3 * MB + 4096, (hex(pa), hex(pd))
arr(pd, 3 * MB)[:] = 0x55
assert (get_sub(T, 0, 3 * MB) == 0x55).all()
# deleting C makes room again for a 4 MiB map
delete_buffers(c)
e = storage(T, 4 * MB, W | P)
pe = raw.glMapBufferRange(T, 0, 4 * MB, W | P)
assert_low(pe, 4 * MB, limit)
assert errors() == []
st = glc.stats()
assert st.oom == 4 and st.max_mapped_end <= limit, st
delete_buffers(a, b, d, e, src)
assert glc.stats().live_shadows == 0
print("DONE")
"""


def test_low_memory_out_of_memory_and_reuse():
    """GLCOHERENT_LIMIT=8M: a map that cannot fit fails with NULL and GL_OUT_OF_MEMORY (after
    the driver's pending errors, before later ones), a log line names the limit, other buffers
    keep working, and space freed by unmap or delete is reused."""
    p = run_script(LOWMEM, GLCOHERENT_LIMIT="8M")
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("LOG glcoherent")]
    oom = [ln for ln in lines if "out of low memory" in ln]
    assert len(oom) == 4, p.stderr
    assert all("0x800000" in ln and "GL_OUT_OF_MEMORY" in ln for ln in oom), oom


NAME_REUSE = """
a = gen_buffer()
GL.glBindBuffer(T, a)
raw.glBufferStorage(T, 8192, None, RWPC)
pa = raw.glMapBufferRange(T, 0, 8192, RWPC)
assert_low(pa, 8192, limit)
arr(pa, 8192)[:] = 0x55
GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, a)   # known as GPU-writable
delete_buffers(a)
assert glc.stats().live_shadows == 0
# the same name again, now a write-only vertex buffer
b = gen_buffer()
assert b == a, (a, b)
GL.glBindBuffer(GL.GL_ARRAY_BUFFER, b)
raw.glBufferStorage(GL.GL_ARRAY_BUFFER, 4096, None, W | P | C)
pb = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
assert_low(pb, 4096, limit)
prog = program(COLOR_VS, COLOR_FS)
vao = color_vao(b, 256)
tgt = Target()
GL.glUseProgram(prog)
for rgba in ((255, 0, 0, 255), (0, 0, 255, 255)):
    arr(pb + 256, 18, np.float32)[:] = triangle(rgba)
    tgt.clear()
    raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
    assert_color(tgt.pixels(), rgba)
assert glc.stats().merges == 0, "a stale 'GPU-writable' mark survived the name's deletion"
GL.glBindBuffer(GL.GL_ARRAY_BUFFER, b)
assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
cleanup_draw(vao=vao, prog=prog, target=tgt)
delete_buffers(b)
# reuse after glBufferData re-specification and delete of a plain-mapped buffer
c = gen_buffer()
assert c == a
GL.glBindBuffer(T, c)
raw.glBufferData(T, 4096, None, GL.GL_DYNAMIC_DRAW)
pc = raw.glMapBufferRange(T, 0, 4096, W)
arr(pc, 4096)[:] = 1
delete_buffers(c)
d = gen_buffer()
assert d == a
GL.glBindBuffer(T, d)
init = pattern(4096, 3)
raw.glBufferStorage(T, 4096, init.ctypes.data, R | P | C)
pd = raw.glMapBufferRange(T, 0, 4096, R | P | C)
assert_low(pd, 4096, limit)
assert np.array_equal(arr(pd, 4096), init)
delete_buffers(d)
assert glc.stats().live_shadows == 0
assert errors() == []
print("DONE")
"""


def test_name_reuse_after_delete():
    """With names reused (force_gl_names_reuse=true), a deleted buffer's name gets a fresh
    record: no stale shadow, no stale 'GPU-writable' mark, contents of the new buffer."""
    run_script(NAME_REUSE, force_gl_names_reuse="true")


CONTEXT_DESTROYED_ELSEWHERE = """
import threading
made, destroyed, done = threading.Event(), threading.Event(), threading.Event()
box = {}

def worker():
    try:
        x = HeadlessContext()           # current on this thread, known to glcoherent
        box["x"] = x
        assert raw.glGetError() == 0    # a wrapped call: this thread's record is x's
        HeadlessContext.release()       # no wrapped call after this
        made.set()
        assert destroyed.wait(30)
        raw.glGetError()                # no context current; x's record was freed
        y = HeadlessContext()
        buf = storage(T, 4096, RWPC)
        p = raw.glMapBufferRange(T, 0, 4096, RWPC)
        assert_low(p, 4096, limit)
        arr(p, 4096)[:] = 7
        assert (get_sub(T, 0, 4096) == 7).all()
        delete_buffers(buf)
        assert errors() == []
        HeadlessContext.release()
        y.destroy()
        box["ok"] = True
    except BaseException as e:
        box["err"] = repr(e)
    done.set()

t = threading.Thread(target=worker)
t.start()
assert made.wait(30)
box["x"].destroy()                     # destroyed by another thread than the one that used it
for _ in range(8):                     # churn the allocator over the freed record
    HeadlessContext(make_current=False).destroy()
ctx.make_current()
destroyed.set()
assert done.wait(60)
t.join()
assert box.get("ok"), box
print("DONE")
"""


def test_context_destroyed_while_known_to_another_thread():
    """Thread B used context X, released it, and thread A destroyed X: B's next wrapped call
    must not use X's freed record (B then works with a new context)."""
    run_script(CONTEXT_DESTROYED_ELSEWHERE)


MULTI_CONTEXT_COVERAGE = """
# Context B's writes stay pending across context A's glFinish until a sync covers B.
import test_gl_sync as TS
ctx_b = HeadlessContext(share=ctx, make_current=False)
buf = storage(GL.GL_SHADER_STORAGE_BUFFER, 256, RWPC)
p = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, 256, RWPC)
assert_low(p, 256, limit)
v = arr(p, 64, np.uint32)
v[:] = 0
ctx_b.make_current()
GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 3, buf)
big = TS.BigDraw()
big.run()                                    # B writes the mapped buffer (~0.1 s of work)
sb = fence()
raw.glFlush()
ctx.make_current()
GL.glFinish()                                # A's finish: covers A's commands only
before = glc.stats().copy_backs
wait_fence(sb)                               # B's fence, waited in A: covers B's write
after = glc.stats().copy_backs
assert (v == TS.BIG * TS.BIG // 64).all(), v[:4]
assert after > before, "B's fence brought nothing back: A's glFinish had marked B's write done"
raw.glDeleteSync(sb)
ctx_b.make_current()
big.delete()
ctx.make_current()
GL.glBindBuffer(GL.GL_SHADER_STORAGE_BUFFER, buf)
raw.glUnmapBuffer(GL.GL_SHADER_STORAGE_BUFFER)
delete_buffers(buf)
ctx_b.destroy()
ctx.make_current()
print("DONE")
"""


def test_finish_does_not_cover_other_contexts_writes():
    """glFinish covers the calling context's commands only: a write issued by a shared context
    stays pending (and is brought back again) until that context's fence is waited."""
    run_script(MULTI_CONTEXT_COVERAGE)
