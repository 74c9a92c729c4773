"""Fresh stores: the first map of a big immutable store made without data does not read the
driver's bytes (gl/layer.h, glc_storage_fresh), and every way the buffer can get bytes before
that map ends the freshness, so the map shows them.

The skip is observed by writing the buffer behind the layer's back (`native`): a fresh map then
shows the shadow's zeros instead. Everything else writes through the layer and must be seen.
"""

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    DYN,
    C,
    P,
    R,
    W,
    arr,
    assert_low,
    delete_buffers,
    errors,
    gen_buffer,
    native,
    pattern,
    raw,
    storage,
)

pytestmark = pytest.mark.gl

BIG = (1 << 20) + 4096 + 12  # fresh stores start at 1 MiB
T = GL.GL_COPY_WRITE_BUFFER
FLAGS = R | W | P | C
SFLAGS = FLAGS | DYN  # (sub-data writes, ours and the native ones, need a dynamic store)


def _map(size):
    ptr = raw.glMapBufferRange(T, 0, size, FLAGS)
    return ptr


def _unmap_delete(buf):
    GL.glBindBuffer(T, buf)
    assert raw.glUnmapBuffer(T)
    delete_buffers(buf)


def _native_sub(glc, offset, data):
    with native(glc):
        raw.glBufferSubData(T, offset, data.size, data.ctypes.data)


def test_first_map_of_a_fresh_store_does_not_read_the_driver(gl, glc, limit):
    buf = storage(T, BIG, SFLAGS)
    data = pattern(4096, seed=1)
    _native_sub(glc, 8192, data)  # unseen by the layer: the store still counts as fresh
    ptr = _map(BIG)
    assert_low(ptr, BIG, limit)
    view = arr(ptr, BIG)
    assert not view.any(), "the first map of a fresh store read the driver's bytes"
    _unmap_delete(buf)


def test_remap_of_an_unchanged_buffer_takes_the_kept_shadow(gl, glc, limit):
    """Freshness ends with the first map; after the unmap the shadow is kept (it equals the
    buffer) and the next map of the same range takes it back instead of loading: a write
    behind the layer's back is therefore not seen, while the client's own bytes are there."""
    buf = storage(T, BIG, SFLAGS)
    ptr = _map(BIG)
    arr(ptr, BIG)[100:200] = 7
    assert raw.glUnmapBuffer(T)
    _native_sub(glc, BIG - 4096, pattern(4096, seed=2))
    view = arr(_map(BIG), BIG)
    assert (view[100:200] == 7).all()
    assert not view[BIG - 4096:].any(), "the kept shadow was not taken: the map loaded"
    _unmap_delete(buf)


def test_remap_of_another_range_loads(gl, glc, limit):
    buf = storage(T, BIG, SFLAGS)
    arr(_map(BIG), BIG)[100:200] = 7
    assert raw.glUnmapBuffer(T)
    data = pattern(4096, seed=3)
    _native_sub(glc, 8192, data)
    ptr = raw.glMapBufferRange(T, 4096, BIG - 4096, FLAGS)
    view = arr(ptr, BIG - 4096)
    assert np.array_equal(view[4096:8192], data)
    _unmap_delete(buf)


def test_small_stores_and_stores_with_data_load(gl, glc, limit):
    small = 64 * 1024
    buf = storage(T, small, SFLAGS)
    data = pattern(small, seed=3)
    _native_sub(glc, 0, data)
    assert np.array_equal(arr(_map(small), small), data)
    _unmap_delete(buf)
    init = pattern(BIG, seed=4)
    buf = storage(T, BIG, SFLAGS, init)
    assert np.array_equal(arr(_map(BIG), BIG), init)
    _unmap_delete(buf)


def _sub(buf, data):
    raw.glBufferSubData(T, 4096, data.size, data.ctypes.data)


def _copy(buf, data):
    src = storage(GL.GL_COPY_READ_BUFFER, data.size, 0, data)
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, T, 0, 4096, data.size)
    delete_buffers(src)


def _clear(buf, data):
    word = data[:4].copy()
    raw.glClearBufferSubData(T, GL.GL_R32UI, 4096, data.size, GL.GL_RED_INTEGER,
                             GL.GL_UNSIGNED_INT, word.ctypes.data)
    data[:] = np.tile(word, data.size // 4)


def _ssbo_binding(glc):
    def write(buf, data):
        GL.glBindBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, buf, 0, BIG)
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
        _native_sub(glc, 4096, data)  # what a shader may have written while it was bound
    return write


def _xfb_binding(glc):
    def write(buf, data):
        GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, buf)
        GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)
        _native_sub(glc, 4096, data)
    return write


def _texture_buffer(glc):
    def write(buf, data):
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, tex)
        GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_R32UI, buf)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
        GL.glDeleteTextures([tex])
        _native_sub(glc, 4096, data)
    return write


WRITERS = ["subdata", "copy", "clear", "ssbo", "xfb", "texbuffer"]


def _write_then_map(glc, buf, how, seed):
    """Write 8 KiB at 4096 of buf the way `how` says, then map it whole: (view, data)."""
    writers = {"subdata": _sub, "copy": _copy, "clear": _clear, "ssbo": _ssbo_binding(glc),
               "xfb": _xfb_binding(glc), "texbuffer": _texture_buffer(glc)}
    data = pattern(8192, seed=seed)
    writers[how](buf, data)
    GL.glBindBuffer(T, buf)
    assert errors() == []
    view = arr(_map(BIG), BIG)
    assert np.array_equal(view[4096:4096 + data.size], data), how
    return view, data


@pytest.mark.parametrize("how", WRITERS)
def test_writes_before_the_first_map_end_freshness(gl, glc, limit, how):
    buf = storage(T, BIG, SFLAGS)
    _write_then_map(glc, buf, how, seed=5)
    _unmap_delete(buf)


@pytest.mark.parametrize("how", WRITERS)
def test_writes_between_unmap_and_map_drop_the_kept_shadow(gl, glc, limit, how):
    buf = storage(T, BIG, SFLAGS)
    arr(_map(BIG), BIG)[:] = 3
    assert raw.glUnmapBuffer(T)
    view, data = _write_then_map(glc, buf, how, seed=10)
    assert (view[:4096] == 3).all() and (view[4096 + data.size:] == 3).all()
    _unmap_delete(buf)


def test_an_ordinary_map_between_drops_the_kept_shadow(gl, glc, limit):
    """A non-persistent map of the buffer after the unmap writes it through another shadow."""
    buf = storage(T, BIG, SFLAGS)
    arr(_map(BIG), BIG)[:] = 3
    assert raw.glUnmapBuffer(T)
    arr(raw.glMapBufferRange(T, 0, BIG, W), BIG)[4096:8192] = 9
    assert raw.glUnmapBuffer(T)
    view = arr(_map(BIG), BIG)
    assert (view[4096:8192] == 9).all() and (view[:4096] == 3).all()
    _unmap_delete(buf)


def test_deleted_and_respecified_buffers_drop_the_kept_shadow(gl, glc, limit):
    buf = storage(T, BIG, SFLAGS)
    arr(_map(BIG), BIG)[:] = 3
    assert raw.glUnmapBuffer(T)
    delete_buffers(buf)
    init = pattern(BIG, seed=11)
    b2 = storage(T, BIG, SFLAGS, init)  # (the name may well be the same again)
    assert np.array_equal(arr(_map(BIG), BIG), init)
    assert raw.glUnmapBuffer(T)
    raw.glBufferStorage(T, BIG, None, SFLAGS)  # immutable: INVALID_OPERATION, bytes stay
    assert errors() == [GL.GL_INVALID_OPERATION]
    assert np.array_equal(arr(_map(BIG), BIG), init)
    _unmap_delete(b2)


def test_kept_shadows_count_once_in_the_stats(gl, glc, limit):
    before = glc.stats()
    buf = storage(T, BIG, SFLAGS)
    for k in range(3):
        arr(_map(BIG), BIG)[k * 4096] = k + 1
        assert glc.stats().live_shadows == before.live_shadows + 1
        assert raw.glUnmapBuffer(T)
    after = glc.stats()
    assert after.live_shadows == before.live_shadows
    # three unmaps, each flushing at least the byte written: counted once each, not again
    assert 3 <= after.flushes - before.flushes <= 6
    delete_buffers(buf)


def test_failed_storage_call_does_not_make_a_store_fresh(gl, glc, limit):
    """glBufferStorage on an immutable buffer fails (INVALID_OPERATION) and keeps the bytes."""
    init = pattern(BIG, seed=6)
    buf = storage(T, BIG, SFLAGS, init)
    raw.glBufferStorage(T, BIG, None, SFLAGS)
    assert errors() == [GL.GL_INVALID_OPERATION]
    assert np.array_equal(arr(_map(BIG), BIG), init)
    _unmap_delete(buf)


def test_respecified_mutable_store_is_not_fresh(gl, glc, limit):
    """glBufferData (mutable) never counts as fresh: the layer only trusts immutable stores."""
    buf = gen_buffer()
    GL.glBindBuffer(T, buf)
    raw.glBufferData(T, BIG, None, GL.GL_DYNAMIC_DRAW)
    data = pattern(4096, seed=7)
    _native_sub(glc, 0, data)
    view = arr(raw.glMapBufferRange(T, 0, BIG, R | W), BIG)
    assert np.array_equal(view[:4096], data)
    assert raw.glUnmapBuffer(T)
    delete_buffers(buf)


def test_deleted_name_reused_is_loaded(gl, glc, limit):
    """A fresh store's name deleted and made again with data: loaded."""
    buf = storage(T, BIG, SFLAGS)
    delete_buffers(buf)
    init = pattern(BIG, seed=8)
    b2 = storage(T, BIG, SFLAGS, init)
    assert np.array_equal(arr(_map(BIG), BIG), init)
    _unmap_delete(b2)


def test_named_stores_are_never_fresh(gl, glc, limit):
    """glNamedBufferStorage: the layer does not ask GL about the name, so the map loads."""
    from test_gl_helpers import create_buffer, needs

    needs("GL_ARB_direct_state_access")
    buf = create_buffer()
    raw.glNamedBufferStorage(buf, BIG, None, SFLAGS)
    data = pattern(4096, seed=9)
    GL.glBindBuffer(T, buf)
    _native_sub(glc, 0, data)
    assert np.array_equal(arr(_map(BIG), BIG)[:4096], data)
    _unmap_delete(buf)
