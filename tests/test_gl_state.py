"""App-visible state and errors are exactly the driver's: buffer parameters, the map pointer,
alignment, dynamic-storage rules, error cases and glGetError order (compared with a native run
of the same sequence), buffer deletion / name reuse / re-specification, and DSA equivalents.
"""

import ctypes

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    CLIENT,
    COLOR_FS,
    COLOR_VS,
    DYN,
    FE,
    RWPC,
    C,
    P,
    R,
    Target,
    W,
    arr,
    assert_color,
    assert_low,
    buffer_params,
    buffer_pointer,
    cleanup_draw,
    create_buffer,
    delete_buffers,
    errors,
    fence_and_wait,
    gen_buffer,
    get_named_sub,
    get_sub,
    named_buffer_pointer,
    native,
    no_error,
    pattern,
    program,
    raw,
    storage,
    triangle,
)

pytestmark = pytest.mark.gl

T = GL.GL_COPY_WRITE_BUFFER
S = GL.GL_COPY_READ_BUFFER
INV_R = GL.GL_MAP_INVALIDATE_RANGE_BIT
INV_B = GL.GL_MAP_INVALIDATE_BUFFER_BIT
UNSYNC = GL.GL_MAP_UNSYNCHRONIZED_BIT


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def both(glc):
    """Yield (mode, context manager) for a glcoherent run and a native run."""
    yield "glcoherent", _null()
    yield "native", native(glc)


# (storage flags, map offset, map length, map access)
PARAM_CASES = [
    (R | W | P | C, 0, 4096, R | W | P | C),
    (R | W | P | C | DYN | CLIENT, 128, 1000, W | P | C),
    (R | P, 4096, 4096, R | P),
    (W | P, 100, 3000, W | P | FE),
    (W | P | C, 0, 8192, W | P | C | INV_B),
    (R | W, 64, 64, R | W),
    (R | W, 1, 4095, W | INV_R | UNSYNC),
    (R | W | DYN, 5000, 3192, R),
]


@pytest.mark.parametrize("case", range(len(PARAM_CASES)))
def test_buffer_parameters_equal_native(gl, glc, limit, case):
    """GL_BUFFER_STORAGE_FLAGS, ACCESS, ACCESS_FLAGS, MAPPED, MAP_OFFSET, MAP_LENGTH,
    IMMUTABLE_STORAGE, SIZE, USAGE before, during and after a map equal a native run; the map
    pointer is the shadow (glGetBufferPointerv and glGetNamedBufferPointerv), and
    (pointer - offset) is a multiple of GL_MIN_MAP_BUFFER_ALIGNMENT."""
    sflags, off, length, access = PARAM_CASES[case]
    size = 8192
    align = GL.glGetIntegerv(GL.GL_MIN_MAP_BUFFER_ALIGNMENT)
    assert align >= 64
    seen = {}
    for mode, ctx in both(glc):
        with ctx:
            buf = storage(T, size, sflags)
            steps = [buffer_params(T)]
            ptr = raw.glMapBufferRange(T, off, length, access)
            assert ptr, mode
            if mode == "glcoherent":
                assert_low(ptr, length, limit)
                assert buffer_pointer(T) == ptr
                assert named_buffer_pointer(buf) == ptr
                assert (ptr - off) % align == 0
            steps.append(buffer_params(T))
            steps.append(buffer_params(buf=buf))
            assert raw.glUnmapBuffer(T)
            steps.append(buffer_params(T))
            assert buffer_pointer(T) == 0
            steps.append(errors())
            seen[mode] = steps
            if mode == "native":
                delete_buffers(buf)
        if mode == "glcoherent":
            delete_buffers(buf)
    assert seen["glcoherent"] == seen["native"]


@pytest.mark.parametrize("off", [0, 1, 63, 64, 100, 4095, 4096, 4097, 6000])
@pytest.mark.parametrize("persistent", [True, False])
def test_map_alignment(gl, limit, off, persistent):
    """(pointer - offset) % GL_MIN_MAP_BUFFER_ALIGNMENT == 0 for any offset, and the bytes at
    the pointer are the bytes at that offset."""
    align = GL.glGetIntegerv(GL.GL_MIN_MAP_BUFFER_ALIGNMENT)
    size = 12288
    flags = R | W | (P | C if persistent else 0)
    buf = storage(T, size, flags, pattern(size, 8))
    length = size - off
    ptr = raw.glMapBufferRange(T, off, length, flags)
    assert_low(ptr, length, limit)
    assert (ptr - off) % align == 0
    assert np.array_equal(arr(ptr, length), pattern(size, 8)[off:])
    raw.glUnmapBuffer(T)
    delete_buffers(buf)


def test_dynamic_storage_rules(gl, glc, limit):
    """glBufferSubData needs DYNAMIC_STORAGE_BIT (INVALID_OPERATION otherwise, named and
    bound forms), even while persistently mapped; with it, the mapped data follows."""
    size = 4096
    one = (ctypes.c_uint8 * 8)(*range(8))
    seen = {}
    for mode, ctx in both(glc):
        with ctx:
            res = []
            a = storage(T, size, R | W | P | C)
            raw.glBufferSubData(T, 0, 8, one)
            res.append(errors())
            raw.glNamedBufferSubData(a, 0, 8, one)
            res.append(errors())
            b = storage(T, size, R | W | P | C | DYN)
            raw.glBufferSubData(T, 0, 8, one)
            res.append(errors())
            if mode == "glcoherent":
                ptr = raw.glMapBufferRange(T, 0, size, R | W | P | C)
                assert_low(ptr, size, limit)
                GL.glBindBuffer(T, a)
                pa = raw.glMapBufferRange(T, 0, size, R | W | P | C)
                assert_low(pa, size, limit)
                raw.glBufferSubData(T, 0, 8, one)  # a: not dynamic, mapped
                res.append(errors())
                raw.glNamedBufferSubData(b, 16, 8, one)  # b: dynamic, mapped
                res.append(errors())
                fence_and_wait()
                assert list(arr(ptr, 24)) == list(range(8)) + [0] * 8 + list(range(8))
                assert not arr(pa, size).any()
                delete_buffers(a, b)
            else:
                pa = raw.glMapBufferRange(T, 0, size, R | W | P | C)  # b bound
                GL.glBindBuffer(T, a)
                pa = raw.glMapBufferRange(T, 0, size, R | W | P | C)
                raw.glBufferSubData(T, 0, 8, one)
                res.append(errors())
                raw.glNamedBufferSubData(b, 16, 8, one)
                res.append(errors())
                delete_buffers(a, b)
            seen[mode] = res
    assert seen["native"][0] == [GL.GL_INVALID_OPERATION]
    assert seen["glcoherent"] == seen["native"]


def _error_sequence(check_ptr):
    """The contract's error cases, in the spec's order; returns [(case, errors)]."""
    out = []
    one = (ctypes.c_uint8 * 64)()

    def rec(what):
        out.append((what, errors()))

    a = storage(T, 4096, R | W | P)                     # immutable, not dynamic
    raw.glBufferSubData(T, 0, 4, one)
    rec("BufferSubData on non-DYNAMIC storage")
    raw.glBufferData(T, 64, None, GL.GL_STATIC_DRAW)
    rec("BufferData on immutable storage")
    raw.glBufferStorage(T, 64, None, W)
    rec("BufferStorage on immutable storage")
    GL.glBindBuffer(T, 0)
    raw.glBufferStorage(T, 0, None, W)
    rec("BufferStorage on buffer 0, size 0 (buffer checked first)")
    raw.glBufferStorage(T, 64, None, W)
    rec("BufferStorage on buffer 0")
    b = gen_buffer()
    GL.glBindBuffer(T, b)
    raw.glBufferStorage(T, 0, None, W)
    rec("size 0")
    raw.glBufferStorage(T, -1, None, W)
    rec("size < 0")
    raw.glBufferStorage(T, 64, None, P)
    rec("PERSISTENT without READ or WRITE")
    raw.glBufferStorage(T, 64, None, W | C)
    rec("COHERENT without PERSISTENT")
    raw.glBufferStorage(T, 64, None, 0x80000000)
    rec("unknown storage bit")
    raw.glBufferStorage(T, 4096, None, W | P)          # b: write-only persistent storage
    rec("valid storage")
    for what, access in (("READ not in storage", R | P),
                         ("COHERENT not in storage", W | P | C),
                         ("no READ or WRITE", P),
                         ("READ with INVALIDATE", R | W | P | INV_R),
                         ("FLUSH_EXPLICIT without WRITE", FE)):
        p = raw.glMapBufferRange(T, 0, 64, access)
        out.append((what, [bool(p)] + errors()))
    c = storage(T, 4096, R | W)                         # c: no PERSISTENT in storage
    p = raw.glMapBufferRange(T, 0, 64, W | P)
    out.append(("PERSISTENT not in storage", [bool(p)] + errors()))
    p = raw.glMapBufferRange(T, 4000, 200, W)
    out.append(("range beyond size", [bool(p)] + errors()))
    p = raw.glMapBufferRange(T, -1, 20, W)
    out.append(("negative offset", [bool(p)] + errors()))
    p = raw.glMapBufferRange(T, 0, 0, W)
    out.append(("zero length", [bool(p)] + errors()))
    out.append(("unmap unmapped", [int(raw.glUnmapBuffer(T))] + errors()))
    raw.glFlushMappedBufferRange(T, 0, 4)
    rec("flush range of unmapped buffer")
    p = raw.glMapBufferRange(T, 0, 256, W)
    check_ptr(p, 256)
    out.append(("map W", [bool(p)] + errors()))
    raw.glFlushMappedBufferRange(T, 0, 4)
    rec("flush range without FLUSH_EXPLICIT")
    p2 = raw.glMapBufferRange(T, 0, 16, W)
    out.append(("map while mapped", [bool(p2)] + errors()))
    raw.glUnmapBuffer(T)
    errors()
    p = raw.glMapBufferRange(T, 256, 256, W | FE)
    check_ptr(p, 256)
    raw.glFlushMappedBufferRange(T, 200, 100)
    rec("flush range beyond the map")
    raw.glFlushMappedBufferRange(T, -1, 10)
    rec("flush negative offset")
    raw.glFlushMappedBufferRange(T, 0, 256)
    rec("flush whole map")
    out.append(("unmap", [int(raw.glUnmapBuffer(T))] + errors()))
    # several errors before one glGetError: the order the app sees them in
    raw.glBufferStorage(T, 64, None, W)      # INVALID_OPERATION (immutable)
    raw.glMapBufferRange(T, 0, 64, 0)        # INVALID_OPERATION / VALUE
    raw.glBufferStorage(0x1234, 64, None, W)  # INVALID_ENUM
    rec("three errors in a row")
    GL.glBindBuffer(T, 0)
    delete_buffers(a, b, c)
    return out


def test_error_cases_in_order_equal_native(gl, glc, limit):
    """Every error case of the contract raises exactly the driver's errors, returned by
    glGetError in the same order as a native run."""
    seen = {}
    for mode, ctx in both(glc):
        with ctx:
            seen[mode] = _error_sequence(
                (lambda p, n: assert_low(p, n, limit)) if mode == "glcoherent" else
                (lambda p, n: None))
    nat = dict(seen["native"])
    assert nat["BufferSubData on non-DYNAMIC storage"] == [GL.GL_INVALID_OPERATION]
    assert nat["BufferData on immutable storage"] == [GL.GL_INVALID_OPERATION]
    assert nat["BufferStorage on buffer 0, size 0 (buffer checked first)"] == \
        [GL.GL_INVALID_OPERATION]
    assert nat["size 0"] == [GL.GL_INVALID_VALUE]
    assert nat["PERSISTENT without READ or WRITE"] == [GL.GL_INVALID_VALUE]
    assert nat["COHERENT without PERSISTENT"] == [GL.GL_INVALID_VALUE]
    assert nat["READ not in storage"] == [False, GL.GL_INVALID_OPERATION]
    assert nat["unmap unmapped"] == [0, GL.GL_INVALID_OPERATION]
    assert nat["flush range without FLUSH_EXPLICIT"] == [GL.GL_INVALID_OPERATION]
    assert nat["flush range beyond the map"] == [GL.GL_INVALID_VALUE]
    for (case, got), (_, want) in zip(seen["glcoherent"], seen["native"]):
        assert got == want, case
    assert len(seen["glcoherent"]) == len(seen["native"])


def test_failed_map_leaves_no_shadow(gl, glc):
    """A map the driver refuses returns NULL and creates no shadow."""
    before = glc.stats().live_shadows
    buf = storage(T, 4096, W | P)
    assert not raw.glMapBufferRange(T, 0, 64, R | P)
    assert errors() == [GL.GL_INVALID_OPERATION]
    assert glc.stats().live_shadows == before
    delete_buffers(buf)


# ---- deletion, name reuse, re-specification ------------------------------------------------

def test_delete_while_mapped_and_name_reuse(gl, glc, limit):
    """Deleting a persistently mapped buffer drops its shadow; the reused name gets a fresh
    shadow with the new buffer's contents, and the new buffer works (no stale record)."""
    before = glc.stats().live_shadows
    size = 8192
    a = storage(T, size, RWPC)
    pa = raw.glMapBufferRange(T, 0, size, RWPC)
    assert_low(pa, size, limit)
    arr(pa, size)[:] = 0x55
    assert glc.stats().live_shadows == before + 1
    delete_buffers(a)
    assert glc.stats().live_shadows == before
    for round_ in range(3):
        b = gen_buffer()  # Mesa reuses names only with force_gl_names_reuse: test_gl_lowmem.py
        GL.glBindBuffer(T, b)
        data = pattern(size, round_)
        raw.glBufferStorage(T, size, data.ctypes.data, RWPC)
        pb = raw.glMapBufferRange(T, 0, size, RWPC)
        assert_low(pb, size, limit)
        vb = arr(pb, size)
        assert np.array_equal(vb, data)  # not the old buffer's 0x55
        vb[:16] = 0x99
        data[:16] = 0x99
        assert np.array_equal(get_sub(T, 0, size), data)
        src = storage(S, 16, 0, np.full(16, 0x77, np.uint8))
        raw.glCopyBufferSubData(S, T, 0, 100, 16)
        fence_and_wait()
        data[100:116] = 0x77
        assert np.array_equal(vb, data)
        assert glc.stats().live_shadows == before + 1
        delete_buffers(b, src)
        assert glc.stats().live_shadows == before


def test_buffer_data_respecification_drops_shadow(gl, glc, limit):
    """glBufferData on a mapped mutable buffer unmaps it (as the driver does) and drops the
    shadow; a new map shows the new data. glBufferData on a mapped immutable buffer fails and
    the map (and its shadow) stay valid."""
    before = glc.stats().live_shadows
    buf = gen_buffer()
    GL.glBindBuffer(T, buf)
    d1 = pattern(4096, 1)
    raw.glBufferData(T, 4096, d1.ctypes.data, GL.GL_DYNAMIC_DRAW)
    ptr = raw.glMapBufferRange(T, 0, 4096, R | W)
    assert_low(ptr, 4096, limit)
    assert np.array_equal(arr(ptr, 4096), d1)
    assert glc.stats().live_shadows == before + 1
    d2 = pattern(6000, 2)
    raw.glBufferData(T, 6000, d2.ctypes.data, GL.GL_STATIC_DRAW)
    assert buffer_params(T)["GL_BUFFER_MAPPED"] == 0
    assert glc.stats().live_shadows == before
    no_error()
    ptr = raw.glMapBufferRange(T, 0, 6000, R)
    assert_low(ptr, 6000, limit)
    assert np.array_equal(arr(ptr, 6000), d2)
    raw.glNamedBufferData(buf, 100, None, GL.GL_STATIC_DRAW)  # DSA form, mapped
    assert glc.stats().live_shadows == before
    assert buffer_params(T)["GL_BUFFER_MAPPED"] == 0
    no_error()
    delete_buffers(buf)

    imm = storage(T, 4096, RWPC | DYN)
    ptr = raw.glMapBufferRange(T, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    raw.glBufferData(T, 64, None, GL.GL_STATIC_DRAW)
    assert errors() == [GL.GL_INVALID_OPERATION]
    assert buffer_params(T)["GL_BUFFER_MAPPED"] == 1
    assert glc.stats().live_shadows == before + 1
    arr(ptr, 4096)[:4] = [1, 2, 3, 4]
    assert list(get_sub(T, 0, 4)) == [1, 2, 3, 4]
    delete_buffers(imm)
    assert glc.stats().live_shadows == before


def test_unmap_drops_shadow_and_remap(gl, glc, limit):
    """Unmapping a persistent map drops its shadow; mapping again gets the buffer's contents,
    including the GPU's writes made while unmapped."""
    before = glc.stats().live_shadows
    buf = storage(T, 4096, RWPC | DYN)
    ptr = raw.glMapBufferRange(T, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    arr(ptr, 4096)[:] = 3
    assert raw.glUnmapBuffer(T)
    assert glc.stats().live_shadows == before
    raw.glBufferSubData(T, 0, 4, (ctypes.c_uint8 * 4)(9, 9, 9, 9))
    ptr = raw.glMapBufferRange(T, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    v = arr(ptr, 4096)
    assert list(v[:5]) == [9, 9, 9, 9, 3] and (v[4:] == 3).all()
    raw.glUnmapBuffer(T)
    delete_buffers(buf)


# ---- DSA -------------------------------------------------------------------------------------

def test_dsa_persistent_draw_and_read(gl, glc, limit):
    """glCreateBuffers + glNamedBufferStorage + glMapNamedBufferRange: a persistent coherent
    vertex buffer drawn through glVertexArrayVertexBuffer, GPU writes (glCopyNamedBufferSubData,
    glClearNamedBufferSubData) read back through the map, glFlushMappedNamedBufferRange, and
    glUnmapNamedBuffer — all as with the bound-target names."""
    before = glc.stats().live_shadows
    size = 8192
    vbo = create_buffer()
    raw.glNamedBufferStorage(vbo, size, None, RWPC | DYN)
    ptr = raw.glMapNamedBufferRange(vbo, 0, size, RWPC)
    assert_low(ptr, size, limit)
    assert named_buffer_pointer(vbo) == ptr
    prog = program(COLOR_VS, COLOR_FS)
    vao = GL.glGenVertexArrays(1)
    GL.glBindVertexArray(vao)
    GL.glVertexArrayVertexBuffer(vao, 0, vbo, 4096, 24)
    for i, n in ((0, 2), (1, 4)):
        GL.glEnableVertexArrayAttrib(vao, i)
        GL.glVertexArrayAttribFormat(vao, i, n, GL.GL_FLOAT, False, 8 * i)
        GL.glVertexArrayAttribBinding(vao, i, 0)
    tgt = Target()
    GL.glUseProgram(prog)
    verts = arr(ptr + 4096, 18, np.float32)
    for rgba in ((255, 0, 0, 255), (0, 255, 255, 255)):
        verts[:] = triangle(rgba)
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    view = arr(ptr, 4096)
    view[:] = 1
    src = create_buffer()
    data = pattern(256, 4)
    raw.glNamedBufferStorage(src, 256, data.ctypes.data, 0)
    raw.glCopyNamedBufferSubData(src, vbo, 0, 512, 256)
    val = (ctypes.c_uint8 * 1)(0xA5)
    raw.glClearNamedBufferSubData(vbo, GL.GL_R8UI, 1024, 64, GL.GL_RED_INTEGER,
                                  GL.GL_UNSIGNED_BYTE, ctypes.addressof(val))
    raw.glNamedBufferSubData(vbo, 2000, 4, (ctypes.c_uint8 * 4)(4, 3, 2, 1))
    fence_and_wait()
    want = np.ones(4096, np.uint8)
    want[512:768] = data
    want[1024:1088] = 0xA5
    want[2000:2004] = [4, 3, 2, 1]
    assert np.array_equal(view, want)
    assert np.array_equal(get_named_sub(vbo, 0, 4096), want)
    assert buffer_params(buf=vbo)["GL_BUFFER_STORAGE_FLAGS"] == RWPC | DYN
    assert raw.glUnmapNamedBuffer(vbo)
    assert glc.stats().live_shadows == before
    # explicit flush through the named entry point, non-persistent map
    p2 = raw.glMapNamedBufferRange(vbo, 100, 200, W | FE)
    assert_low(p2, 200, limit)
    arr(p2, 200)[:] = 0xEE
    raw.glFlushMappedNamedBufferRange(vbo, 0, 200)
    assert raw.glUnmapNamedBuffer(vbo)
    assert (get_named_sub(vbo, 100, 200) == 0xEE).all()
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(vbo, src)
    assert glc.stats().live_shadows == before


def test_dsa_parameters_and_errors_equal_native(gl, glc, limit):
    """Named queries and named-call errors match a native run."""
    seen = {}
    one = (ctypes.c_uint8 * 4)()
    for mode, ctx in both(glc):
        with ctx:
            res = []
            b = create_buffer()
            raw.glNamedBufferStorage(b, 4096, None, W | P | C)
            res.append(buffer_params(buf=b))
            p = raw.glMapNamedBufferRange(b, 64, 128, W | P | C)
            assert p
            if mode == "glcoherent":
                assert_low(p, 128, limit)
                assert named_buffer_pointer(b) == p
            res.append(buffer_params(buf=b))
            raw.glNamedBufferSubData(b, 0, 4, one)
            res.append(errors())
            raw.glNamedBufferStorage(b, 64, None, W)
            res.append(errors())
            raw.glNamedBufferStorage(0, 64, None, W)
            res.append(errors())
            raw.glMapNamedBufferRange(b, 0, 4, W)
            res.append(errors())
            raw.glFlushMappedNamedBufferRange(b, 0, 4)
            res.append(errors())
            res.append(int(raw.glUnmapNamedBuffer(b)))
            res.append(int(raw.glUnmapNamedBuffer(b)))
            res.append(errors())
            res.append(buffer_params(buf=b))
            delete_buffers(b)
            seen[mode] = res
    assert seen["glcoherent"] == seen["native"]


@pytest.fixture
def compat_context(gl, glc, egl_context):
    """A GL 4.5 compatibility-profile context (Mesa offers EXT_direct_state_access there only),
    current for the test, known to glcoherent."""
    from glcoherent import egl as E

    lib, dpy = E._egl(), E.display()
    lib.eglBindAPI(E.EGL_OPENGL_API)
    attribs = (ctypes.c_int * 5)(E.EGL_RENDERABLE_TYPE, E.EGL_OPENGL_BIT, E.EGL_SURFACE_TYPE,
                                 E.EGL_PBUFFER_BIT, E.EGL_NONE)
    config, n = ctypes.c_void_p(), ctypes.c_int()
    assert lib.eglChooseConfig(dpy, attribs, ctypes.byref(config), 1, ctypes.byref(n))
    cattr = (ctypes.c_int * 7)(E.EGL_CONTEXT_MAJOR_VERSION, 4, E.EGL_CONTEXT_MINOR_VERSION, 5,
                               E.EGL_CONTEXT_OPENGL_PROFILE_MASK, 2, E.EGL_NONE)
    ctx = lib.eglCreateContext(dpy, config, None, cattr)
    if not ctx:
        pytest.skip("no compatibility-profile context")
    glc.instance.context_created(ctx)
    assert lib.eglMakeCurrent(dpy, None, None, ctx)
    yield ctx
    lib.eglMakeCurrent(dpy, None, None, None)
    glc.instance.context_destroyed(ctx)
    lib.eglDestroyContext(dpy, ctx)
    egl_context.make_current()


def _ext(glc, name, restype, *argtypes, native_=False):
    from test_gl_helpers import _egl

    addr = _egl.eglGetProcAddress(name.encode()) if native_ else \
        glc.instance.get_proc_address(name)
    assert addr, name
    return ctypes.CFUNCTYPE(restype, *argtypes)(addr)


def test_ext_direct_state_access_names(gl, glc, limit, compat_context):
    """The EXT_direct_state_access names (compatibility context) are the same operations:
    glNamedBufferStorageEXT + glMapNamedBufferRangeEXT give a low shadow whose client writes
    reach glNamedCopyBufferSubDataEXT / glGetNamedBufferSubDataEXT, GPU writes
    (glNamedBufferSubDataEXT, glClearNamedBufferSubDataEXT, a copy, glGetTextureImageEXT into a
    pack buffer) come back, glTextureSubImage2DEXT reads a mapped unpack buffer,
    glNamedBufferDataEXT drops the shadow, and parameters and errors equal a native run."""
    from ctypes import POINTER, c_ssize_t, c_ubyte, c_uint, c_void_p

    vp = c_void_p
    names = {
        "glNamedBufferStorageEXT": (None, c_uint, c_ssize_t, vp, c_uint),
        "glMapNamedBufferRangeEXT": (vp, c_uint, c_ssize_t, c_ssize_t, c_uint),
        "glMapNamedBufferEXT": (vp, c_uint, c_uint),
        "glUnmapNamedBufferEXT": (c_ubyte, c_uint),
        "glFlushMappedNamedBufferRangeEXT": (None, c_uint, c_ssize_t, c_ssize_t),
        "glNamedBufferSubDataEXT": (None, c_uint, c_ssize_t, c_ssize_t, vp),
        "glGetNamedBufferSubDataEXT": (None, c_uint, c_ssize_t, c_ssize_t, vp),
        "glNamedCopyBufferSubDataEXT": (None, c_uint, c_uint, c_ssize_t, c_ssize_t, c_ssize_t),
        "glClearNamedBufferSubDataEXT": (None, c_uint, c_uint, c_ssize_t, c_ssize_t, c_uint,
                                         c_uint, vp),
        "glNamedBufferDataEXT": (None, c_uint, c_ssize_t, vp, c_uint),
        "glGetNamedBufferPointervEXT": (None, c_uint, c_uint, POINTER(vp)),
        "glGetNamedBufferParameterivEXT": (None, c_uint, c_uint, POINTER(ctypes.c_int)),
        "glTextureSubImage2DEXT": (None, c_uint, c_uint, ctypes.c_int, ctypes.c_int,
                                   ctypes.c_int, ctypes.c_int, ctypes.c_int, c_uint, c_uint,
                                   vp),
        "glGetTextureImageEXT": (None, c_uint, c_uint, ctypes.c_int, c_uint, c_uint, vp),
    }
    X = {k: _ext(glc, k, v[0], *v[1:]) for k, v in names.items()}
    N = {k: _ext(glc, k, v[0], *v[1:], native_=True) for k, v in names.items()}
    before = glc.stats().live_shadows

    def params(F, b):
        out = []
        for pname in ("GL_BUFFER_SIZE", "GL_BUFFER_ACCESS_FLAGS", "GL_BUFFER_MAPPED",
                      "GL_BUFFER_MAP_OFFSET", "GL_BUFFER_MAP_LENGTH", "GL_BUFFER_STORAGE_FLAGS",
                      "GL_BUFFER_IMMUTABLE_STORAGE"):
            v = ctypes.c_int(-1)
            F["glGetNamedBufferParameterivEXT"](b, getattr(GL, pname), ctypes.byref(v))
            out.append(v.value)
        return out

    seen = {}
    for mode, F in (("glcoherent", X), ("native", N)):
        res = []
        a, b = GL.glGenBuffers(2)
        F["glNamedBufferStorageEXT"](a, 8192, None, RWPC | DYN)
        init = pattern(8192, 3)
        F["glNamedBufferStorageEXT"](b, 8192, init.ctypes.data, R | W | DYN)
        p = F["glMapNamedBufferRangeEXT"](a, 100, 8000, RWPC)
        assert p
        res.append(params(F, a))
        if mode == "glcoherent":
            assert_low(p, 8000, limit)
            q = c_void_p()
            F["glGetNamedBufferPointervEXT"](a, GL.GL_BUFFER_MAP_POINTER, ctypes.byref(q))
            assert q.value == p
        v = arr(p, 8000)
        v[:] = 0x31
        F["glNamedCopyBufferSubDataEXT"](a, b, 100, 0, 64)       # client bytes -> GPU
        got = np.zeros(64, np.uint8)
        F["glGetNamedBufferSubDataEXT"](b, 0, 64, got.ctypes.data)
        assert (got == 0x31).all(), mode
        F["glNamedCopyBufferSubDataEXT"](b, a, 1000, 1100, 500)  # GPU -> mapped a
        F["glNamedBufferSubDataEXT"](a, 3000, 4, (ctypes.c_uint8 * 4)(1, 2, 3, 4))
        val = (ctypes.c_uint8 * 1)(0x77)
        F["glClearNamedBufferSubDataEXT"](a, GL.GL_R8UI, 4000, 16, GL.GL_RED_INTEGER,
                                          GL.GL_UNSIGNED_BYTE, ctypes.addressof(val))
        fence_and_wait()
        want = np.full(8000, 0x31, np.uint8)
        want[1000:1500] = init[1000:1500]
        want[2900:2904] = [1, 2, 3, 4]
        want[3900:3916] = 0x77
        assert np.array_equal(v, want), mode
        # texture upload from / download into the mapped buffer, EXT_dsa texture names
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, 4, 4, 0, GL.GL_RGBA,
                        GL.GL_UNSIGNED_BYTE, None)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        v[5000 - 100:5064 - 100] = pattern(64, 9)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, a)
        F["glTextureSubImage2DEXT"](tex, GL.GL_TEXTURE_2D, 0, 0, 0, 4, 4, GL.GL_RGBA,
                                    GL.GL_UNSIGNED_BYTE, 5000)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, a)
        F["glGetTextureImageEXT"](tex, GL.GL_TEXTURE_2D, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                                  6000)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        fence_and_wait()
        assert np.array_equal(v[5900:5964], pattern(64, 9)), mode
        GL.glDeleteTextures(1, [tex])
        res.append(errors())
        # a plain EXT map with explicit flush after unmapping the persistent one
        assert F["glUnmapNamedBufferEXT"](a)
        res.append(params(F, a))
        F["glMapNamedBufferRangeEXT"](a, 0, 64, W)               # errors: no FLUSH_EXPLICIT
        F["glFlushMappedNamedBufferRangeEXT"](a, 0, 4)
        res.append(errors())
        F["glUnmapNamedBufferEXT"](a)
        p2 = F["glMapNamedBufferEXT"](b, GL.GL_READ_WRITE)
        assert p2
        if mode == "glcoherent":
            assert_low(p2, 8192, limit)
        b_want = init.copy()
        b_want[:64] = 0x31  # the first copy above
        assert np.array_equal(arr(p2, 8192), b_want), mode
        arr(p2, 4)[:] = 0xAB
        res.append(params(F, b))
        F["glNamedBufferDataEXT"](b, 64, None, GL.GL_STATIC_DRAW)  # immutable: error, stays
        res.append(errors())
        assert F["glUnmapNamedBufferEXT"](b)
        F["glGetNamedBufferSubDataEXT"](b, 0, 8, got.ctypes.data)
        assert list(got[:8]) == [0xAB] * 4 + [0x31] * 4, mode
        c = GL.glGenBuffers(1)
        F["glNamedBufferDataEXT"](c, 4096, None, GL.GL_DYNAMIC_DRAW)
        p3 = F["glMapNamedBufferRangeEXT"](c, 0, 4096, W)
        if mode == "glcoherent":
            assert_low(p3, 4096, limit)
            assert glc.stats().live_shadows == before + 1
        F["glNamedBufferDataEXT"](c, 128, None, GL.GL_DYNAMIC_DRAW)  # re-specified: unmapped
        if mode == "glcoherent":
            assert glc.stats().live_shadows == before
        res.append(params(F, c))
        res.append(errors())
        GL.glDeleteBuffers(3, [a, b, c])
        seen[mode] = res
    assert seen["glcoherent"] == seen["native"]
    assert glc.stats().live_shadows == before


def test_extension_target_newer_than_context_version(gl, glc, limit):
    """GL_PARAMETER_BUFFER is core in 4.6 but exists in this 4.5 context through
    ARB_indirect_parameters: a map through that target must be recorded under the buffer's
    name (delete and unmap find it), and glcoherent's probing must not leave an error."""
    from test_gl_helpers import needs

    needs("GL_ARB_indirect_parameters")
    PB = GL.GL_PARAMETER_BUFFER
    before = glc.stats().live_shadows
    buf = storage(PB, 4096, RWPC | DYN)
    ptr = raw.glMapBufferRange(PB, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    assert buffer_pointer(PB) == ptr
    arr(ptr, 4096)[:] = 0x21
    assert (get_sub(PB, 0, 4096) == 0x21).all()
    raw.glBufferSubData(PB, 0, 4, (ctypes.c_uint8 * 4)(1, 2, 3, 4))
    fence_and_wait()
    assert list(arr(ptr, 5)) == [1, 2, 3, 4, 0x21]
    assert raw.glUnmapBuffer(PB)
    assert glc.stats().live_shadows == before
    ptr = raw.glMapBufferRange(PB, 0, 4096, RWPC)
    assert_low(ptr, 4096, limit)
    assert glc.stats().live_shadows == before + 1
    delete_buffers(buf)  # deleted while mapped: the shadow must go with it
    assert glc.stats().live_shadows == before
    # an error the application made before stays, in order, with nothing of ours added
    raw.glBufferStorage(PB, 0, None, W)  # INVALID_OPERATION: buffer 0 bound
    b2 = storage(T, 64, W)
    GL.glBindBuffer(PB, b2)
    p2 = raw.glMapBufferRange(PB, 0, 64, W)
    assert_low(p2, 64, limit)
    assert errors() == [GL.GL_INVALID_OPERATION]
    raw.glUnmapBuffer(PB)
    GL.glBindBuffer(PB, 0)
    delete_buffers(b2)
