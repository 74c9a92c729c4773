"""Shared fixtures. GL tests run on Mesa llvmpipe through headless EGL (surfaceless).

The tracker backend comes from GLCOHERENT_TRACKER (CI runs the suite once per backend); the
address limit from GLCOHERENT_LIMIT (default 4 GiB).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import os.path  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402


def in_ci() -> bool:
    """CI sets CI=true: there, a missing system tool fails a test instead of skipping it."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb server on a free display number; yields the DISPLAY value."""
    exe = shutil.which("Xvfb")
    if exe is None:
        if in_ci():
            pytest.fail("Xvfb is missing (apt-get install xvfb): windowed tests must run in CI")
        pytest.skip("Xvfb is not installed")
    # -displayfd: Xvfb picks a free display number and writes it once it accepts connections
    rfd, wfd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(wfd), "-screen", "0", "640x480x24",
                             "-nolisten", "tcp"], pass_fds=(wfd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(wfd)
    try:
        number = b""
        deadline = time.monotonic() + 30
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None \
                    else ""
                pytest.fail(f"Xvfb did not start: {err}")
            ready, _, _ = select.select([rfd], [], [], left)
            if ready:
                chunk = os.read(rfd, 16)
                if not chunk:
                    continue
                number += chunk
        display = f":{int(number.strip())}"
        sock_path = f"/tmp/.X11-unix/X{int(number.strip())}"
        while True:     # the socket accepts connections
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(sock_path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Xvfb {display} does not accept connections")
                time.sleep(0.05)
        yield display
    finally:
        os.close(rfd)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
