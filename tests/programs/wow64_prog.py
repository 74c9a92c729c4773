"""Genuine 32-bit code on persistent mappings: the scenarios of tests/test_wow64.py.

i386 functions (demos/compat32_thunk.S, run in compatibility mode through the thunk of
glcoherent.demos.compat32) write and read buffers that GL maps persistently; GL draws from, copies
and computes into them. Each scenario returns a list of problems (empty: pass).

  draw       32-bit code writes vertex data that the next draw reads (rendered pixels checked)
  flush      32-bit code writes a non-coherent persistent map (FLUSH_EXPLICIT); the 64-bit side
             calls glFlushMappedBufferRange; a GPU copy must see the data
  readback   32-bit code reads what a compute shader / glCopyBufferSubData wrote into a
             READ|PERSISTENT|COHERENT mapping, after a fence
  page       32-bit code and a compute shader write different words of one page: both survive
  registers  the thunk gives the 64-bit caller back its callee-saved registers

The tests import this module (door 1: glcoherent.install() in the test process, PyOpenGL) and
run it as a program (door 2: `python -m glcoherent run -- python wow64_prog.py`, where the
program knows nothing of glcoherent and makes its own surfaceless EGL context). As a program it
prints `ptr=0x... len=N` for every mapping, `ptr32=0x...` for every pointer 32-bit code received,
one line per scenario and `RESULT: pass|fail`; exits 0 only on pass, 3 when this machine cannot
run 32-bit code (`UNAVAILABLE: reason`), 4 when a pointer is out of reach of 32-bit code.
Options: --install [LIMIT] calls glcoherent.install() itself (the in-process door in a fresh
process, e.g. with a 2G limit).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

W, R = GL.GL_MAP_WRITE_BIT, GL.GL_MAP_READ_BIT
P, C = GL.GL_MAP_PERSISTENT_BIT, GL.GL_MAP_COHERENT_BIT
GRID = 64                       # the draw scenario renders GRID x GRID points into an R32UI image

DRAW_VS = f"#version 450 core\n#define GRID {GRID}u\n" + """
layout(location = 0) in uint v;
layout(location = 0) uniform uint base;
flat out uint id;
void main() {
    uint i = v - base;              /* stale data gives a wrong index, often far off-screen */
    id = v;
    gl_PointSize = 1.0;
    if (i >= GRID * GRID) { gl_Position = vec4(2.0, 2.0, 0.0, 1.0); return; }
    vec2 px = vec2(float(i % GRID), float(i / GRID)) + 0.5;
    gl_Position = vec4(px * (2.0 / float(GRID)) - 1.0, 0.0, 1.0);
}
"""

DRAW_FS = """#version 450 core
flat in uint id;
layout(location = 0) out uint o;
void main() { o = id; }
"""

WRITE_CS = """#version 450 core
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer B { uint d[]; };
layout(location = 0) uniform uint base;
layout(location = 1) uniform uint first;
layout(location = 2) uniform uint stride;
layout(location = 3) uniform uint count;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < count) d[first + i * stride] = base + i;
}
"""


# ---- GL helpers ------------------------------------------------------------------------------

def program(**stages: str) -> int:
    kinds = {"vs": GL.GL_VERTEX_SHADER, "fs": GL.GL_FRAGMENT_SHADER, "cs": GL.GL_COMPUTE_SHADER}
    prog = GL.glCreateProgram()
    for kind, src in stages.items():
        sh = GL.glCreateShader(kinds[kind])
        GL.glShaderSource(sh, src)
        GL.glCompileShader(sh)
        if not GL.glGetShaderiv(sh, GL.GL_COMPILE_STATUS):
            raise RuntimeError(f"{kind}: {GL.glGetShaderInfoLog(sh)}")
        GL.glAttachShader(prog, sh)
        GL.glDeleteShader(sh)
    GL.glLinkProgram(prog)
    if not GL.glGetProgramiv(prog, GL.GL_LINK_STATUS):
        raise RuntimeError(f"link: {GL.glGetProgramInfoLog(prog)}")
    return prog


def mapped_buffer(target: int, size: int, storage_flags: int, map_flags: int, log):
    buf = GL.glGenBuffers(1)
    GL.glBindBuffer(target, buf)
    GL.glBufferStorage(target, size, None, storage_flags)
    ptr = GL.glMapBufferRange(target, 0, size, map_flags)
    address = ptr if isinstance(ptr, int) else ctypes.cast(ptr, ctypes.c_void_p).value
    if not address:
        raise RuntimeError("glMapBufferRange returned NULL")
    log(f"ptr=0x{address:x} len={size}")
    return int(buf), int(address)


def unmap_delete(target: int, *bufs: int) -> None:
    for b in bufs:
        GL.glBindBuffer(target, b)
        if GL.glGetBufferParameteriv(target, GL.GL_BUFFER_MAPPED):
            GL.glUnmapBuffer(target)
    GL.glBindBuffer(target, 0)
    GL.glDeleteBuffers(len(bufs), list(bufs))


def fence_wait() -> None:
    sync = GL.glFenceSync(GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
    r = GL.glClientWaitSync(sync, GL.GL_SYNC_FLUSH_COMMANDS_BIT, 10_000_000_000)
    GL.glDeleteSync(sync)
    if r not in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED):
        raise RuntimeError(f"fence not signalled: 0x{int(r):x}")


def gpu_words(buf: int, offset: int, count: int) -> np.ndarray:
    """What the GL side holds: a GPU copy into a scratch buffer, read with glGetBufferSubData."""
    scratch = GL.glGenBuffers(1)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, scratch)
    GL.glBufferData(GL.GL_COPY_WRITE_BUFFER, count * 4, None, GL.GL_STREAM_COPY)
    GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, buf)
    GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, offset, 0, count * 4)
    out = (ctypes.c_uint32 * count)()
    GL.glGetBufferSubData(GL.GL_COPY_WRITE_BUFFER, 0, count * 4, out)
    GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, 0)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, 0)
    GL.glDeleteBuffers(1, [scratch])
    return np.frombuffer(out, dtype=np.uint32).copy()


def compute_write(prog: int, buf: int, base: int, first: int, stride: int, count: int) -> None:
    """The GPU writes d[first + i * stride] = base + i (uint words) into buf."""
    GL.glUseProgram(prog)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, buf)
    GL.glUniform1ui(0, base)
    GL.glUniform1ui(1, first)
    GL.glUniform1ui(2, stride)
    GL.glUniform1ui(3, count)
    GL.glDispatchCompute(-(-count // 64), 1, 1)
    GL.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
    GL.glUseProgram(0)


def mismatch(what: str, got: np.ndarray, want: np.ndarray) -> list:
    bad = np.nonzero(got != want)[0]
    if not len(bad):
        return []
    i = int(bad[0])
    return [f"{what}: {len(bad)} of {len(want)} words wrong (first [{i}] = 0x{int(got[i]):x}, "
            f"want 0x{int(want[i]):x})"]


# ---- the scenarios ---------------------------------------------------------------------------

def scenario_draw(c32, log=print, draw_guard=None) -> list:
    """32-bit code writes the vertices (one uint per point) of a WRITE|PERSISTENT|COHERENT
    vertex buffer; the next draw must show exactly them. draw_guard (tests only): a context
    manager around the draw call, e.g. one that bypasses glcoherent to show the check fails."""
    problems = []
    n = GRID * GRID
    vbo, ptr = mapped_buffer(GL.GL_ARRAY_BUFFER, n * 4, W | P | C, W | P | C, log)
    vao = GL.glGenVertexArrays(1)
    GL.glBindVertexArray(vao)
    GL.glEnableVertexAttribArray(0)
    GL.glVertexAttribIPointer(0, 1, GL.GL_UNSIGNED_INT, 4, ctypes.c_void_p(0))
    GL.glBindVertexArray(0)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
    fbo = GL.glGenFramebuffers(1)
    rb = GL.glGenRenderbuffers(1)
    GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
    GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_R32UI, GRID, GRID)
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
    GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                 GL.GL_RENDERBUFFER, rb)
    prog = program(vs=DRAW_VS, fs=DRAW_FS)
    try:
        for rnd in range(3):
            base = 0x10000 * (rnd + 1)
            if c32.fill(ptr, n, 1, base) != n:        # the 32-bit writes
                problems.append(f"draw round {rnd}: c32_fill did not report {n} words")
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glViewport(0, 0, GRID, GRID)
            GL.glClearBufferuiv(GL.GL_COLOR, 0, np.zeros(4, dtype=np.uint32))
            GL.glUseProgram(prog)
            GL.glUniform1ui(0, base)
            GL.glBindVertexArray(vao)
            with draw_guard() if draw_guard else contextlib.nullcontext():
                GL.glDrawArrays(GL.GL_POINTS, 0, n)
            GL.glBindVertexArray(0)
            GL.glUseProgram(0)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
            GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
            GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
            img = np.zeros(n, dtype=np.uint32)
            GL.glReadPixels(0, 0, GRID, GRID, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT, img)
            problems += mismatch(f"draw round {rnd} (pixels)", img,
                                 base + np.arange(n, dtype=np.uint32))
    finally:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        GL.glDeleteProgram(prog)
        GL.glDeleteFramebuffers(1, [fbo])
        GL.glDeleteRenderbuffers(1, [rb])
        GL.glDeleteVertexArrays(1, [vao])
        unmap_delete(GL.GL_ARRAY_BUFFER, vbo)
    return problems


def scenario_flush(c32, log=print) -> list:
    """WRITE|PERSISTENT|FLUSH_EXPLICIT (not coherent): 32-bit code writes two ranges, the
    64-bit side flushes exactly them with glFlushMappedBufferRange, a GPU copy must see them."""
    problems = []
    words = 16384
    T = GL.GL_COPY_WRITE_BUFFER
    buf, ptr = mapped_buffer(T, words * 4, W | P | GL.GL_DYNAMIC_STORAGE_BIT,
                             W | P | GL.GL_MAP_FLUSH_EXPLICIT_BIT, log)
    try:
        ranges = [(0, 4096, 0xA0000), (5000, 3000, 0xB0000), (12288, 4096, 0xC0000)]
        for first, count, base in ranges:
            c32.fill(ptr + 4 * first, count, 1, base)
            GL.glBindBuffer(T, buf)
            GL.glFlushMappedBufferRange(T, 4 * first, 4 * count)
            GL.glBindBuffer(T, 0)
        for first, count, base in ranges:
            problems += mismatch(f"flush range at word {first}", gpu_words(buf, 4 * first, count),
                                 base + np.arange(count, dtype=np.uint32))
        # once more over the first range: new data, flushed again
        c32.fill(ptr, 4096, 1, 0xD0000)
        GL.glBindBuffer(T, buf)
        GL.glFlushMappedBufferRange(T, 0, 4 * 4096)
        GL.glBindBuffer(T, 0)
        problems += mismatch("flush range 0 rewritten", gpu_words(buf, 0, 4096),
                             0xD0000 + np.arange(4096, dtype=np.uint32))
    finally:
        unmap_delete(T, buf)
    return problems


def scenario_readback(c32, log=print) -> list:
    """A compute shader, then glCopyBufferSubData, write a READ|PERSISTENT|COHERENT mapping;
    after the fence the 32-bit code reads every word."""
    problems = []
    words = 16384
    T = GL.GL_SHADER_STORAGE_BUFFER
    buf, ptr = mapped_buffer(T, words * 4, R | P | C, R | P | C, log)
    GL.glBindBuffer(T, 0)
    prog = program(cs=WRITE_CS)
    src = GL.glGenBuffers(1)
    try:
        for rnd in range(2):
            base = 0x300000 + 0x10000 * rnd
            compute_write(prog, buf, base, 0, 1, words)
            fence_wait()
            bad = c32.verify(ptr, words, 1, base)
            if bad:
                problems.append(f"readback round {rnd}: 32-bit code saw {bad} of {words} words "
                                "not written by the compute shader")
        data = 0x7000000 + np.arange(words, dtype=np.uint32)
        GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
        GL.glBufferData(GL.GL_COPY_READ_BUFFER, words * 4, data, GL.GL_STATIC_DRAW)
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, buf)
        GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, words * 4)
        GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, 0)
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, 0)
        fence_wait()
        bad = c32.verify(ptr, words, 1, 0x7000000)
        if bad:
            problems.append(f"readback after glCopyBufferSubData: 32-bit code saw {bad} of "
                            f"{words} words not written by the copy")
    finally:
        GL.glDeleteProgram(prog)
        GL.glDeleteBuffers(1, [src])
        unmap_delete(T, buf)
    return problems


def scenario_page(c32, log=print) -> list:
    """READ|WRITE|PERSISTENT|COHERENT, 4 pages: in page 1 the 32-bit code writes the even words
    and a compute shader the odd ones - first one after the other, then concurrently (the CPU
    writes while the dispatch is in flight). After the fence both must be there, for the
    32-bit code and for the GPU."""
    problems = []
    T = GL.GL_SHADER_STORAGE_BUFFER
    buf, ptr = mapped_buffer(T, 4 * 4096, R | W | P | C, R | W | P | C, log)
    GL.glBindBuffer(T, 0)
    prog = program(cs=WRITE_CS)
    page, half = 1024, 512          # words per page, even (or odd) words per page
    try:
        for rnd, concurrent in enumerate((False, True)):
            cpu, gpu = 0x400000 + 0x10000 * rnd, 0x800000 + 0x10000 * rnd
            if not concurrent:
                c32.fill(ptr + 4 * page, half, 2, cpu)
            compute_write(prog, buf, gpu, page + 1, 2, half)
            if concurrent:
                c32.fill(ptr + 4 * page, half, 2, cpu)
            fence_wait()
            how = "concurrent" if concurrent else "CPU then GPU"
            bad_cpu = c32.verify(ptr + 4 * page, half, 2, cpu)
            bad_gpu = c32.verify(ptr + 4 * page + 4, half, 2, gpu)
            if bad_cpu or bad_gpu:
                problems.append(f"page ({how}): 32-bit code sees {bad_cpu} of its own words and "
                                f"{bad_gpu} of the GPU's words lost")
            got = gpu_words(buf, 4 * page, page)
            problems += mismatch(f"page ({how}), GPU view of the CPU words", got[0::2],
                                 cpu + np.arange(half, dtype=np.uint32))
            problems += mismatch(f"page ({how}), GPU view of the GPU words", got[1::2],
                                 gpu + np.arange(half, dtype=np.uint32))
    finally:
        GL.glDeleteProgram(prog)
        unmap_delete(T, buf)
    return problems


def scenario_registers(c32, log=print) -> list:
    lost = c32.regs_lost()
    names = ["rbx", "rbp", "r12", "r13", "r14", "r15"]
    bad = [n for i, n in enumerate(names) if lost >> i & 1]
    problems = [f"registers lost across the thunk: {', '.join(bad)}"] if bad else []
    for value in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF):
        if c32.echo(value) != value:
            problems.append(f"c32_echo(0x{value:x}) returned something else")
    return problems


SCENARIOS = {
    "draw": scenario_draw,
    "flush": scenario_flush,
    "readback": scenario_readback,
    "page": scenario_page,
    "registers": scenario_registers,
}


# ---- as a program ----------------------------------------------------------------------------

def make_context():
    """A GL 4.5 core context on surfaceless EGL (the one the interposer test program makes)."""
    from pyopengl_prog import make_context as egl_context

    egl_context()


def main(argv) -> int:
    from glcoherent.demos.compat32 import Compat32, Compat32Unavailable, OutOfReach

    install = None
    if "--install" in argv:
        i = argv.index("--install")
        install = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else ""
    try:
        c32 = Compat32()
    except Compat32Unavailable as exc:
        print(f"UNAVAILABLE: {exc}")
        return 3
    if install is not None:
        import glcoherent
        from glcoherent.egl import HeadlessContext

        HeadlessContext()
        glcoherent.install(limit=install or None)
    else:
        make_context()
    code, stack_lo, stack_hi = c32.layout()
    print(f"compat32: code 0x{code:x}, stack 0x{stack_lo:x} .. 0x{stack_hi:x}")
    ok = True
    try:
        for name, fn in SCENARIOS.items():
            problems = fn(c32)
            ok = ok and not problems
            print(f"scenario {name}: {'pass' if not problems else 'FAIL'}")
            for p in problems:
                print(f"  {p}")
    except OutOfReach as exc:
        print(f"OUT OF REACH: {exc}")
        return 4
    for p in sorted(set(c32.pointers)):
        print(f"ptr32=0x{p:x}")
    print(f"32-bit calls: {c32.calls}")
    print("RESULT:", "pass" if ok else "fail")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
