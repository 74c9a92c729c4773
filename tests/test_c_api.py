"""The C API example (examples/c/persistent_draw.c): compiled against the public header and
libglcoherent.so with the flags `python -m glcoherent config` prints, then run."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "c", "persistent_draw.c")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    flags = subprocess.run([sys.executable, "-m", "glcoherent", "config", "--cflags", "--libs"],
                           capture_output=True, text=True, check=True).stdout
    exe = str(tmp_path_factory.mktemp("capi") / "persistent_draw")
    cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, EXAMPLE,
           *shlex.split(flags), "-lEGL"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(cmd)}\n{p.stderr}"
    return exe


def test_example_uses_only_the_public_api():
    """The example includes glcoherent.h and no internal header; the library exports only
    glcoherent_* symbols."""
    src = open(EXAMPLE).read()
    includes = [ln.split()[1] for ln in src.splitlines() if ln.startswith("#include")]
    assert '"glcoherent.h"' in includes
    assert all(i.startswith("<") or i == '"glcoherent.h"' for i in includes), includes
    lib = os.path.join(ROOT, "glcoherent", "libglcoherent.so")
    nm = shutil.which("nm")
    if nm:
        out = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True,
                             text=True, check=True).stdout
        syms = [ln.split()[-1] for ln in out.splitlines() if ln.split()[1:2] == ["T"]]
        assert syms and all(s.startswith("glcoherent_") for s in syms), syms


@pytest.mark.parametrize("limit", [None, "2G"])
def test_c_example_persistent_draw(example, limit):
    env = dict(os.environ)
    if limit:
        env["GLCOHERENT_LIMIT"] = limit
    p = subprocess.run([example], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK:" in p.stdout, p.stdout
    assert "stats:" in p.stdout
    if limit:
        assert "limit 0x80000000" in p.stdout
