"""The demos, run as users run them: subprocesses of `python -m glcoherent demo NAME`.

Every demo verifies what the GPU drew or wrote and prints one verdict line (OK:/FAIL:); the exit
code follows it. These tests check the verdict, the mapped addresses, the screenshot, and, with
--sabotage (glcoherent bypassed around each demo's critical GL calls), that the checks do catch
stale data. One class runs demos in real glfw windows on Xvfb. The wow64 demo runs i386 code in
compatibility mode: its tests skip only where the kernel cannot run 32-bit code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glcoherent.demos import _common
from glcoherent.demos.cli import DEMOS

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300
MAPPING = re.compile(r"^\s+.+\s0x([0-9a-f]+) \.\. 0x([0-9a-f]+) \((\d+) bytes, [A-Z|_]+\) "
                     r"(below|ABOVE) the limit$", re.M)


def run(args, env=None, cwd=None, script=None):
    cmd = [sys.executable, script] if script else [sys.executable, "-m", "glcoherent", "demo"]
    proc = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def needs_32bit_code(name: str) -> None:
    """wow64 needs compatibility mode: skip (with the thunk's reason) where there is none."""
    if name == "wow64":
        from glcoherent.demos import compat32

        reason = compat32.unavailable_reason()
        if reason:
            pytest.skip(f"32-bit code cannot run here: {reason}")


def headless_env():
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def verdict(out: str) -> str:
    lines = [ln for ln in out.splitlines() if ln.startswith(("OK:", "FAIL:"))]
    assert len(lines) == 1, f"expected exactly one verdict line:\n{out}"
    return lines[0]


def mappings(out: str):
    return [(int(a, 16), int(b, 16), int(n), where) for a, b, n, where in MAPPING.findall(out)]


def foreground(img: np.ndarray) -> float:
    """Fraction of pixels that differ from the most common colour (the background)."""
    flat = img[..., :3].reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    return float(np.mean(np.any(flat != background, axis=1)))


# ---- headless ----------------------------------------------------------------------------------

@pytest.mark.gl
@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_headless(name, tmp_path):
    needs_32bit_code(name)
    shot = tmp_path / "tmp.png"
    rc, out, err = run([name, "--headless", "--frames", 5, "--screenshot", shot],
                       env=headless_env(), cwd=tmp_path)
    assert rc == 0, f"{name} failed (rc {rc}):\n{out}\n{err}"
    line = verdict(out)
    assert line.startswith("OK:") and "mapped below 4 GiB" in line, line
    assert "headless EGL" in out
    maps = mappings(out)
    assert maps, out
    for start, end, size, where in maps:
        assert where == "below" and end <= 1 << 32 and end - start == size
    assert re.search(r"^glcoherent: tracker \S+, limit 4 GiB", out, re.M), out
    img = _common.read_png(str(shot))
    assert img.shape == (256, 256, 3)
    assert foreground(img) > 0.01, f"{name}: the screenshot is (almost) only background"


@pytest.mark.gl
@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_check_catches_stale_data(name, tmp_path):
    """With glcoherent bypassed around the demo's critical calls, its own check must fail."""
    needs_32bit_code(name)
    rc, out, err = run([name, "--headless", "--frames", 1 if name == "query-poll" else 5,
                        "--sabotage"], env=headless_env(), cwd=tmp_path)
    line = verdict(out)
    assert rc == 1 and line.startswith("FAIL:"), f"{name} did not notice:\n{out}\n{err}"
    assert "mapped below 4 GiB" in line       # the addresses were fine, the data was not


@pytest.mark.gl
def test_default_demo_is_particles_and_runs_headless_without_display(tmp_path):
    rc, out, err = run(["--frames", 4, "--particles", 1000, "--size", "128x96",
                        "--limit", "3G"], env=headless_env(), cwd=tmp_path)
    assert rc == 0, out + err
    assert out.startswith("particles: headless EGL") and "128x96" in out
    assert "no DISPLAY" in out
    line = verdict(out)
    assert re.match(r"OK: 2 persistent buffers mapped below 3 GiB, \d+ draws, 0 stale vertices$",
                    line), line
    assert all(end <= 3 << 30 for _, end, _, _ in mappings(out))


@pytest.mark.gl
def test_native_run_shows_the_problem(tmp_path):
    """Without glcoherent the same frames are right, but the driver's addresses decide."""
    rc, out, err = run(["particles", "--headless", "--frames", 4, "--native"],
                       env=headless_env(), cwd=tmp_path)
    line = verdict(out)
    assert "0 stale vertices" in line, out + err
    above = [m for m in mappings(out) if m[3] == "ABOVE"]
    if above:
        assert rc == 1 and line.startswith("FAIL:") and "above 4 GiB" in line
    else:
        assert rc == 0 and line.startswith("OK:")


@pytest.mark.gl
@pytest.mark.parametrize("name", ["particles", "query_poll", "wow64"])
def test_demo_runs_as_a_plain_script(name, tmp_path):
    needs_32bit_code(name)
    shot = tmp_path / "s.png"
    rc, out, err = run(["--headless", "--frames", 3, "--screenshot", shot], env=headless_env(),
                       cwd=tmp_path, script=str(ROOT / "demos" / f"{name}.py"))
    assert rc == 0, out + err
    assert verdict(out).startswith("OK:")
    assert shot.exists()


@pytest.mark.gl
def test_wow64_vertices_come_from_32bit_code_below_2g(tmp_path):
    needs_32bit_code("wow64")
    rc, out, err = run(["wow64", "--headless", "--frames", 6, "--limit", "2G"],
                       env=headless_env(), cwd=tmp_path)
    assert rc == 0, out + err
    line = verdict(out)
    assert re.match(r"OK: 2 persistent buffers mapped below 2 GiB, vertices written by 32-bit "
                    r"code, \d+ draws, 0 stale vertices$", line), line
    m = re.search(r"^32-bit code: 6 calls of c32_particles in compatibility mode .* vertex ring "
                  r"passed as the 32-bit pointer 0x([0-9a-f]{8}),", out, re.M)
    assert m and int(m.group(1), 16) < 2 << 30, out
    assert all(end <= 2 << 30 for _, end, _, _ in mappings(out))


@pytest.mark.gl
def test_wow64_native_pointer_is_out_of_reach(tmp_path):
    """--native: the driver's pointer does not fit in 32 bits: a clear FAIL, not a crash."""
    needs_32bit_code("wow64")
    rc, out, err = run(["wow64", "--headless", "--frames", 3, "--native"], env=headless_env(),
                       cwd=tmp_path)
    assert "Traceback" not in err, err
    line = verdict(out)
    ring = mappings(out)[0]            # the vertex ring
    if ring[1] > 1 << 32:
        assert rc == 1 and line.startswith("FAIL:"), out
        assert "32-bit code cannot reach the vertex ring" in line
        assert "the highest address a 32-bit pointer can hold" in line
    else:
        assert rc == 0 and "vertices written by 32-bit code" in line, out


def test_demo_help_lists_all_demos():
    rc, out, _ = run(["--help"])
    assert rc == 0
    for name in DEMOS:
        assert name in out


def test_png_writer_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for channels in (3, 4):
        img = rng.integers(0, 256, (17, 23, channels), dtype=np.uint8)
        path = tmp_path / f"x{channels}.png"
        _common.write_png(str(path), img)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert np.array_equal(_common.read_png(str(path)), img)


# ---- real windows on Xvfb ------------------------------------------------------------------------

def window_env(display: str):
    env = dict(os.environ)
    env["DISPLAY"] = display
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("PYGLFW_LIBRARY_VARIANT", None)
    env["PYOPENGL_PLATFORM"] = "egl"      # the demo must switch to GLX for its window itself
    return env


@pytest.mark.gl
@pytest.mark.xvfb
def test_particles_in_a_glfw_window(xvfb_display, tmp_path):
    shot = tmp_path / "window.png"
    rc, out, err = run(["particles", "--frames", 12, "--screenshot", shot],
                       env=window_env(xvfb_display), cwd=tmp_path)
    assert rc == 0, out + err
    assert out.startswith("particles: glfw window (GLX), 256x256"), out
    assert "window back buffer: 0 pixels differ from the rendered frame" in out
    assert verdict(out).startswith("OK: 2 persistent buffers mapped below 4 GiB")
    img = _common.read_png(str(shot)).astype(int)
    # the window shows the clear colour (0.02, 0.02, 0.06) and glowing particles on it
    flat = img.reshape(-1, 3)
    background = np.all(np.abs(flat - [5, 5, 15]) <= 1, axis=1)
    assert background.mean() > 0.3
    bright = flat.max(axis=1) > 60
    assert bright.mean() > 0.01, "no particles in the window"


@pytest.mark.gl
@pytest.mark.xvfb
def test_query_poll_in_a_glfw_window(xvfb_display, tmp_path):
    shot = tmp_path / "window.png"
    rc, out, err = run(["query-poll", "--frames", 6, "--screenshot", shot],
                       env=window_env(xvfb_display), cwd=tmp_path)
    assert rc == 0, out + err
    assert "glfw window (GLX)" in out and "0 pixels differ" in out
    img = _common.read_png(str(shot)).reshape(-1, 3).astype(int)
    # each quadrant shows its lit rectangle in its own colour (rect.frag writes u_color)
    for colour in ([255, 115, 51], [77, 217, 102], [77, 140, 255], [242, 204, 64]):
        assert np.any(np.all(np.abs(img - colour) <= 1, axis=1)), f"no pixel of {colour}"


@pytest.mark.gl
@pytest.mark.xvfb
def test_wow64_in_a_glfw_window(xvfb_display, tmp_path):
    needs_32bit_code("wow64")
    shot = tmp_path / "window.png"
    rc, out, err = run(["wow64", "--frames", 12, "--screenshot", shot],
                       env=window_env(xvfb_display), cwd=tmp_path)
    assert rc == 0, out + err
    assert out.startswith("wow64: glfw window (GLX), 256x256"), out
    assert "window back buffer: 0 pixels differ from the rendered frame" in out
    assert "32-bit code: 12 calls of c32_particles" in out
    assert verdict(out).startswith("OK: 2 persistent buffers mapped below 4 GiB, vertices "
                                   "written by 32-bit code")
    flat = _common.read_png(str(shot)).astype(int).reshape(-1, 3)
    assert np.all(np.abs(flat - [5, 5, 15]) <= 1, axis=1).mean() > 0.3
    assert (flat.max(axis=1) > 60).mean() > 0.01, "no particles in the window"
