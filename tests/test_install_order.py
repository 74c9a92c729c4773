"""install() in any order, with every kind of context, and bad settings rejected up front.

Each case runs tests/programs/install_order.py in a fresh process (the first case needs a
process where no GL, EGL or GLX library is loaded yet): install() first or the context first,
for a context made through OpenGL.EGL (surfaceless), a glfw window and a bare GLX context
(both under Xvfb). In each: mappings below the limit, CPU writes seen by a GPU copy, and a raw
entry point fetched through PyOpenGL's loader (eglGetProcAddress / glXGetProcAddress) is the
wrapped one, so a query result it writes into a polled coherent buffer arrives without a fence.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAM = os.path.join(HERE, "programs", "install_order.py")
ORDERS = ["install-first", "context-first"]


def run_program(order, kind, display=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    env.pop("DISPLAY", None)
    if display:
        env["DISPLAY"] = display
    p = subprocess.run([sys.executable, PROGRAM, order, kind], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, f"{order} {kind}: exit {p.returncode}\n{p.stderr[-3000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def check(r, order, limit=1 << 32):
    if order == "install-first":
        assert r["loaded_before_install"] == [], r["loaded_before_install"]
    assert 0 < r["pointer"] < limit and 0 < r["query_pointer"] < limit
    assert r["copy_ok"], "the GPU copy did not see the CPU writes"
    assert r["loader_returns_wrapper"], "PyOpenGL's loader handed out the driver's entry point"
    assert r["query_result"] != 0, "the query result never reached the polled mapping"
    assert r["stats"]["persistent_maps"] >= 2 and r["stats"]["shadowed_maps"] >= 2
    assert r["gl_error"] == 0


@pytest.mark.gl
@pytest.mark.parametrize("order", ORDERS)
def test_egl_context(order):
    check(run_program(order, "egl"), order)


@pytest.mark.xvfb
@pytest.mark.parametrize("kind", ["glfw", "glx"])
@pytest.mark.parametrize("order", ORDERS)
def test_x11_context(order, kind, xvfb_display):
    check(run_program(order, kind, xvfb_display), order)


BAD = [
    ({}, "install(limit='banana')", "limit='banana'"),
    ({}, "install(tracker='nope')", "tracker='nope'"),
    ({"GLCOHERENT_LIMIT": "8G"}, "install()", "GLCOHERENT_LIMIT='8G'"),
    ({"GLCOHERENT_LIMIT": "4K"}, "install()", "GLCOHERENT_LIMIT='4K'"),
    ({"GLCOHERENT_LIMIT": "lots"}, "install()", "GLCOHERENT_LIMIT='lots'"),
    ({"GLCOHERENT_TRACKER": "uffdd"}, "install()", "GLCOHERENT_TRACKER='uffdd'"),
]

BAD_CHILD = """
import json, sys
import glcoherent
from glcoherent.egl import HeadlessContext
ctx = HeadlessContext()
from OpenGL import GL
before = GL.glMapBufferRange
try:
    glcoherent.{call}
except glcoherent.ConfigError as exc:
    print(json.dumps({{"error": str(exc), "installed": glcoherent.installed() is not None,
                      "value_error": isinstance(exc, ValueError)}}))
    sys.exit(0)
print(json.dumps({{"error": None}}))
"""


@pytest.mark.gl
@pytest.mark.parametrize("env,call,named", BAD, ids=[b[1] + str(b[0]) for b in BAD])
def test_bad_settings_fail_before_anything_is_installed(env, call, named):
    full_env = {**os.environ, **env}
    p = subprocess.run([sys.executable, "-c", BAD_CHILD.format(call=call)], capture_output=True,
                       text=True, timeout=60, env=full_env)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["error"], f"{call} with {env} was accepted"
    assert named in r["error"], r["error"]
    assert "choose one of" in r["error"] or "accepted range" in r["error"] \
        or "examples" in r["error"], r["error"]
    assert r["value_error"] and not r["installed"]


def test_bad_environment_is_one_line_from_the_cli():
    env = {**os.environ, "GLCOHERENT_TRACKER": "uffdd"}
    p = subprocess.run([sys.executable, "-m", "glcoherent", "info"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0, p.stderr
    assert "GLCOHERENT_TRACKER='uffdd'" in p.stderr and "Traceback" not in p.stderr


def test_source_tree_without_extension_says_what_to_do(tmp_path):
    """`python -m glcoherent` from a source tree whose extension is not built prints one line
    saying what to do, never a bare ModuleNotFoundError."""
    tree = tmp_path / "clone"
    shutil.copytree(os.path.join(ROOT, "glcoherent"), tree / "glcoherent",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "_native.c"))
    shutil.copy(os.path.join(ROOT, "setup.py"), tree / "setup.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -S: no site-packages, so an editable install of this checkout (as in CI) cannot supply
    # the extension through its import hook; the tree must stand alone, as a fresh clone does.
    for cmd in (["-m", "glcoherent", "demo", "--headless"], ["-m", "glcoherent", "info"]):
        p = subprocess.run([sys.executable, "-S", *cmd], cwd=tree, capture_output=True, text=True,
                           timeout=60, env=env)
        assert p.returncode == 2, (cmd, p.returncode, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert "not built in the source tree" in lines[0] and "pip install" in lines[0]
    # As a library: the package imports, and loading the core says the same.
    code = ("import glcoherent\ntry:\n    import glcoherent._ext\n"
            "except glcoherent.NativeExtensionMissing as e:\n    print('missing', e)")
    p = subprocess.run([sys.executable, "-S", "-c", code],
                       cwd=tree, capture_output=True, text=True, timeout=60, env=env)
    assert p.stdout.startswith("missing glcoherent: the C extension is not built"), \
        p.stdout + p.stderr


@pytest.mark.parametrize("env", [{"GLCOHERENT_LIMIT": "8G"}, {"GLCOHERENT_TRACKER": "nope"}])
def test_run_checks_inherited_settings(env):
    """`glcoherent run` refuses a bad inherited GLCOHERENT_* value in one line (the interposer
    itself could only log it and fall back)."""
    p = subprocess.run([sys.executable, "-m", "glcoherent", "run", "--", "true"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert p.returncode == 2, p.stderr
    (name, value), = env.items()
    assert p.stderr.count("\n") == 1 and f"{name}='{value}'" in p.stderr, p.stderr
