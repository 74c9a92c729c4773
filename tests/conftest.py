"""Shared fixtures. GL tests run on Mesa llvmpipe through headless EGL (surfaceless).

The tracker backend comes from GLCOHERENT_TRACKER (CI runs the suite once per backend); the
address limit from GLCOHERENT_LIMIT (default 4 GiB).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def egl_context():
    """A GL 4.5 core context, current on the main thread for the whole session."""
    from glcoherent.egl import HeadlessContext

    ctx = HeadlessContext()
    yield ctx


@pytest.fixture(scope="session")
def glc(egl_context):
    """glcoherent installed in-process (PyOpenGL goes through the wrapped entry points)."""
    import glcoherent

    inst = glcoherent.install()
    yield inst


@pytest.fixture
def gl(glc, egl_context):
    """OpenGL.GL with glcoherent installed; the test must leave no GL error behind."""
    from OpenGL import GL

    egl_context.make_current()
    while GL.glGetError() != GL.GL_NO_ERROR:
        pass
    yield GL
    egl_context.make_current()
    assert GL.glGetError() == GL.GL_NO_ERROR, "the test left a GL error behind"


@pytest.fixture
def limit(glc) -> int:
    return glc.instance.limit
