"""The LD_PRELOAD interposer (`glcoherent run`), one test per way a program reaches GL.

Every program here knows nothing of glcoherent (sources in tests/programs/). Each test runs it
in a subprocess under `python -m glcoherent run --stats -- PROGRAM` and checks the program's own
result (it verifies client -> GL and GL -> client visibility on a persistent coherent mapping)
AND the `glcoherent-stats:` line (persistent_maps > 0, max_mapped_end <= limit), plus the
pointer the program printed.

  (a) linked against libOpenGL + libEGL, gl* called directly        test_linked_program
  (b) dlopen("libOpenGL.so.0") + dlsym, EGL the same way             test_dlopen_dlsym_program
  (c) gl* through eglGetProcAddress                                  test_eglgetprocaddress_program
  (d) glXGetProcAddress(ARB) without a display                       test_glx_getprocaddress
  (e) PyOpenGL with its own surfaceless EGL context                  test_pyopengl_program
and: a program that never maps runs unchanged, shared / destroyed-while-current contexts and
threads, dlsym(RTLD_NEXT/RTLD_DEFAULT) semantics kept, trackers and --limit, child processes,
exit status, GLX and glfw on Xvfb, and the piglit matrix (marker `piglit`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import in_ci

from glcoherent.run import PRELOAD_NAME, build_env, parse_stats, preload_path

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"
DEFAULT_LIMIT = 1 << 32
PTR_RE = re.compile(r"ptr=0x([0-9a-f]+) len=(\d+)")



def base_env() -> dict:
    env = dict(os.environ)
    for k in ("GLCOHERENT_LIMIT", "GLCOHERENT_STATS", "LD_PRELOAD"):
        env.pop(k, None)
    env["PYOPENGL_PLATFORM"] = "egl"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def glc_run(argv, *options, env=None, stats=True, timeout=120, cwd=None):
    """`python -m glcoherent run [--stats] OPTIONS -- argv`; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "glcoherent", "run"] + (["--stats"] if stats else [])
    cmd += list(options) + ["--"] + [str(a) for a in argv]
    return subprocess.run(cmd, env=env or base_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def native_run(argv, env=None, timeout=120):
    return subprocess.run([str(a) for a in argv], env=env or base_env(), capture_output=True,
                          text=True, timeout=timeout)


def one_stats(proc) -> dict:
    stats = parse_stats(proc.stderr)
    assert len(stats) == 1, f"expected one stats line:\n{proc.stderr}"
    return stats[0]


def check_mapped_program(proc, limit: int = DEFAULT_LIMIT, maps: int = 1) -> dict:
    """The program passed, its pointers and glcoherent's statistics are below the limit."""
    out = proc.stdout
    assert proc.returncode == 0, f"rc {proc.returncode}\n{out}\n{proc.stderr}"
    assert "RESULT: pass" in out, out
    ptrs = PTR_RE.findall(out)
    assert ptrs, out
    for addr, length in ptrs:
        assert int(addr, 16) + int(length) <= limit, f"pointer 0x{addr} above the limit"
    st = one_stats(proc)
    assert st["limit"] == limit
    assert st["persistent_maps"] >= maps and st["maps"] >= maps, st
    assert st["shadowed_maps"] >= 1, st
    assert 0 < st["max_mapped_end"] <= limit, st
    assert st["oom"] == 0, st
    return st


# ---- building the test programs -------------------------------------------------------------

@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> dict:
    """The C test programs, compiled once per module: name -> path."""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if cc is None:
        if in_ci():
            pytest.fail("no C compiler: the interposer tests must run in CI")
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("glc-programs")
    flags = ["-O1", "-g", "-Wall", "-Wextra", "-Werror", f"-I{PROGRAMS}"]
    builds = {
        "linked": (["linked.c"], ["-lOpenGL", "-lEGL"]),
        "dlsym_loaded": (["dlsym_loaded.c"], ["-ldl"]),
        "eglproc": (["eglproc.c"], ["-lEGL"]),
        "glx_getproc": (["glx_getproc.c"], ["-lGL"]),
        "glx_context": (["glx_context.c"], ["-lGL", "-lX11"]),
        "nomap": (["nomap.c"], ["-lOpenGL", "-lEGL"]),
        "contexts": (["contexts.c"], ["-lOpenGL", "-lEGL", "-lpthread"]),
        "dlsym_default": (["dlsym_default.c"], ["-ldl"]),
        "exit_busy": (["exit_busy.c"], ["-lOpenGL", "-lEGL", "-lpthread"]),
        "egl_terminate": (["egl_terminate.c"], ["-lOpenGL", "-lEGL"]),
        "dlclose_reload": (["dlclose_reload.c"], ["-ldl"]),
        "kernel_writes": (["kernel_writes.c"], ["-lOpenGL", "-lEGL", "-ldl"]),
    }
    result = {}
    for name, (srcs, libs) in builds.items():
        exe = out / name
        cmd = [cc, *flags, "-o", str(exe), *[str(PROGRAMS / s) for s in srcs], *libs]
        p = subprocess.run(cmd, capture_output=True, text=True)
        assert p.returncode == 0, f"{' '.join(cmd)}\n{p.stderr}"
        result[name] = exe
    # RTLD_NEXT from a library: libnext_a (first) must find libnext_b's which().
    for lib in ("next_a", "next_b"):
        p = subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", str(out / f"lib{lib}.so"),
                            f"-Wl,--version-script={PROGRAMS / 'next.map'}",
                            str(PROGRAMS / f"{lib}.c"), "-ldl"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    p = subprocess.run([cc, *flags, "-o", str(out / "next_main"), str(PROGRAMS / "next_main.c"),
                        f"-L{out}", "-Wl,--no-as-needed", "-lnext_a", "-lnext_b",
                        "-Wl,-rpath,$ORIGIN"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    result["next_main"] = out / "next_main"
    return result


@pytest.fixture(scope="module", autouse=True)
def preload_built():
    lib = preload_path()
    assert lib.is_file(), f"{lib} is missing: build it (python setup.py build_ext --inplace)"
    return lib


# ---- the loading styles -------------------------------------------------------------------

@pytest.mark.gl
@pytest.mark.parametrize("name", ["linked", "dlsym_loaded", "eglproc"])
def test_programs_pass_natively(programs, name):
    """Sanity: the programs are correct without glcoherent (and their maps are high)."""
    p = native_run([programs[name]])
    assert p.returncode == 0 and "RESULT: pass" in p.stdout, p.stdout + p.stderr
    assert not parse_stats(p.stderr)


@pytest.mark.gl
def test_linked_program(programs):
    """(a) gl* and egl* called directly: the exported symbols of the preload library."""
    check_mapped_program(glc_run([programs["linked"]]))


@pytest.mark.gl
def test_dlopen_dlsym_program(programs):
    """(b) dlopen(libOpenGL/libEGL, RTLD_LOCAL) + dlsym: the dlsym hook hands out wrappers."""
    p = glc_run([programs["dlsym_loaded"]])
    check_mapped_program(p)
    assert f"glMapBufferRange from {preload_path()}" in p.stdout, p.stdout


@pytest.mark.gl
def test_eglgetprocaddress_program(programs):
    """(c) eglGetProcAddress: the hook hands out wrappers."""
    p = glc_run([programs["eglproc"]])
    check_mapped_program(p)
    assert f"glMapBufferRange from {preload_path()}" in p.stdout, p.stdout


@pytest.mark.gl
def test_glx_getprocaddress(programs):
    """(d) glXGetProcAddress(ARB) (piglit's door, no display needed): wrappers and context
    hooks from the preload library, the driver's entry points for everything else."""
    native = native_run([programs["glx_getproc"]])
    assert native.returncode == 3 and "RESULT: native" in native.stdout, native.stdout
    p = glc_run([programs["glx_getproc"]], stats=False)
    assert p.returncode == 0 and "RESULT: pass" in p.stdout, p.stdout + p.stderr
    assert re.search(r"^glMapBufferRange .*" + re.escape(PRELOAD_NAME), p.stdout, re.M)
    assert re.search(r"^glViewport .*libGLdispatch", p.stdout, re.M), p.stdout


@pytest.mark.gl
def test_pyopengl_program():
    """(e) A PyOpenGL program with its own EGL context gets low pointers and correct data."""
    prog = PROGRAMS / "pyopengl_prog.py"
    native = native_run([sys.executable, prog])
    assert native.returncode == 0 and "RESULT: pass" in native.stdout, native.stdout
    p = glc_run([sys.executable, prog], timeout=300)
    check_mapped_program(p)


# ---- unchanged behaviour --------------------------------------------------------------------

@pytest.mark.gl
def test_program_without_maps_runs_unchanged(programs):
    native = native_run([programs["nomap"]])
    p = glc_run([programs["nomap"]])
    assert native.returncode == 0 and p.returncode == 0, p.stdout + p.stderr
    assert p.stdout == native.stdout
    assert "pixel 64 128 191 255" in p.stdout and "same" in p.stdout
    st = one_stats(p)
    assert st["maps"] == 0 and st["persistent_maps"] == 0 and st["max_mapped_end"] == 0


def test_program_without_gl_runs_unchanged():
    """No GL at all: same output, same status, and no stats line (nothing was used)."""
    code = "import sys; print('hello', sys.argv[1:]); sys.stderr.write('err\\n'); sys.exit(5)"
    native = subprocess.run([sys.executable, "-c", code, "x"], capture_output=True, text=True,
                            env=base_env())
    p = glc_run([sys.executable, "-c", code, "x"])
    assert (p.returncode, p.stdout, p.stderr) == (native.returncode, native.stdout,
                                                   native.stderr) == (5, "hello ['x']\n", "err\n")


@pytest.mark.gl
def test_dlsym_default_does_not_invent_gl(programs):
    """dlsym(RTLD_DEFAULT, "gl...") finds nothing before a GL library is loaded (our exports
    do not count), the wrapper after; unknown names still fail and set dlerror()."""
    p = glc_run([programs["dlsym_default"]], stats=False)
    assert p.returncode == 0 and "RESULT: pass" in p.stdout, p.stdout + p.stderr
    assert f"glMapBufferRange before=null after={preload_path()}" in p.stdout, p.stdout


def test_rtld_next_keeps_the_callers_view(programs):
    """dlsym(RTLD_NEXT) and dlvsym(RTLD_NEXT) from a library search after that library, not
    after glcoherent."""
    native = native_run([programs["next_main"]])
    assert "next=2 vnext=2" in native.stdout, native.stdout
    p = glc_run([programs["next_main"]], stats=False)
    assert p.returncode == 0 and "next=2 vnext=2" in p.stdout, p.stdout + p.stderr


# ---- contexts, trackers, limit ------------------------------------------------------------

@pytest.mark.gl
def test_contexts_shared_destroyed_and_threads(programs):
    p = glc_run([programs["contexts"]])
    st = check_mapped_program(p, maps=3)
    assert st["live_shadows"] == 0, st      # every context is gone at exit
    assert "FAILED" not in p.stdout


@pytest.mark.gl
@pytest.mark.parametrize("tracker", ["uffd", "mprotect", "copy", "auto"])
def test_trackers(programs, tracker):
    p = glc_run([programs["linked"]], "--tracker", tracker)
    st = check_mapped_program(p)
    # A backend the machine lacks (userfaultfd under a seccomp profile) falls back.
    allowed = {"uffd": ("uffd", "mprotect", "copy"), "mprotect": ("mprotect", "copy")}
    assert st["tracker"] in allowed.get(tracker, (tracker,)), st


@pytest.mark.gl
@pytest.mark.parametrize("limit", ["2G", "0x40000000"])
def test_limit_option(programs, limit):
    want = int(limit, 0) if limit.startswith("0x") else 2 << 30
    p = glc_run([programs["dlsym_loaded"]], "--limit", limit)
    check_mapped_program(p, limit=want)


@pytest.mark.gl
def test_environment_without_run(programs):
    """The library alone, configured by the environment (what `run` sets up)."""
    env = base_env()
    env.update(LD_PRELOAD=str(preload_path()), GLCOHERENT_STATS="1",
               GLCOHERENT_LIMIT="3G", GLCOHERENT_TRACKER="copy")
    p = native_run([programs["eglproc"]], env=env)
    st = check_mapped_program(p, limit=3 << 30)
    assert st["tracker"] == "copy"


# ---- run: environment, children, exit status ------------------------------------------------

def test_run_environment():
    env = build_env("2G", "mprotect", True, base={"LD_PRELOAD": "libm.so.6 /x/" + PRELOAD_NAME,
                                                  "PATH": "/bin"})
    assert env["LD_PRELOAD"] == f"{preload_path()}:libm.so.6"
    assert env["GLCOHERENT_LIMIT"] == str(2 << 30)
    assert env["GLCOHERENT_TRACKER"] == "mprotect" and env["GLCOHERENT_STATS"] == "1"
    assert build_env(base={})["LD_PRELOAD"] == str(preload_path())
    with pytest.raises(ValueError):
        build_env("lots")
    with pytest.raises(ValueError):
        build_env(tracker="magic")


def test_run_prepends_and_children_inherit():
    env = base_env()
    env["LD_PRELOAD"] = "libm.so.6"
    p = glc_run(["sh", "-c", 'sh -c "echo $LD_PRELOAD $GLCOHERENT_LIMIT $GLCOHERENT_STATS"'],
                "--limit", "1G", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [f"{preload_path()}:libm.so.6", str(1 << 30), "1"]


@pytest.mark.gl
def test_child_process_gets_the_interposer(programs):
    """Through a shell: the GL child is interposed and prints the only stats line."""
    p = glc_run(["sh", "-c", f'"{programs["linked"]}"; echo shell-done'])
    check_mapped_program(p)
    assert p.stdout.rstrip().endswith("shell-done")


def test_run_exit_status_and_signals():
    assert glc_run(["sh", "-c", "exit 7"]).returncode == 7
    assert glc_run(["sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM
    p = glc_run(["glcoherent-no-such-program"])
    assert p.returncode == 127 and "not found" in p.stderr
    p = subprocess.run([sys.executable, "-m", "glcoherent", "run", "--limit", "huge", "--",
                        "true"], capture_output=True, text=True, env=base_env())
    assert p.returncode == 2 and "not a size" in p.stderr
    p = subprocess.run([sys.executable, "-m", "glcoherent", "run"], capture_output=True,
                       text=True, env=base_env())
    assert p.returncode == 2


# ---- GLX and glfw on Xvfb -----------------------------------------------------------------

@pytest.mark.gl
@pytest.mark.xvfb
def test_glx_context_program(programs, xvfb_display):
    """GLX end to end: glXCreateContextAttribsARB (from glXGetProcAddressARB) and
    glXMakeContextCurrent feed the context tracking; gl* called directly from libGL."""
    env = base_env()
    env["DISPLAY"] = xvfb_display
    native = native_run([programs["glx_context"]], env=env)
    assert native.returncode == 0, native.stdout + native.stderr
    check_mapped_program(glc_run([programs["glx_context"]], env=env))


@pytest.mark.gl
@pytest.mark.xvfb
def test_glfw_pyopengl_program(xvfb_display):
    """glfw (dlopen + dlsym of libGL, glXGetProcAddressARB) with PyOpenGL on GLX."""
    pytest.importorskip("glfw")
    env = base_env()
    env["DISPLAY"] = xvfb_display
    env.pop("WAYLAND_DISPLAY", None)
    p = glc_run([sys.executable, PROGRAMS / "pyopengl_prog.py", "--glfw"], env=env, timeout=300)
    check_mapped_program(p)


# ---- piglit ---------------------------------------------------------------------------------

def _piglit_matrix():
    spec = importlib.util.spec_from_file_location("glc_piglit_matrix",
                                                  PROGRAMS / "piglit_matrix.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.piglit
@pytest.mark.gl
def test_piglit_matrix():
    """bufferstorage-persistent {draw, read} x 4 variants x every tracker (+ --limit 2G) and the
    other map tests, as .ci/piglit.sh runs them. piglit missing: skip locally, fail in CI."""
    pm = _piglit_matrix()
    bindir = pm.find_piglit()
    if bindir is None:
        if in_ci():
            pytest.fail("piglit is missing in CI (apt-get install piglit)")
        pytest.skip("piglit is not installed")
    runs = pm.run_matrix(pm.matrix(), bindir, jobs=2)
    failed = [r for r in runs if r.verdict != "pass"]
    assert not failed, "\n" + pm.table(runs) + "".join(
        f"\n==== {r.name} ({r.tracker}) ====\n{r.output[-2000:]}" for r in failed[:3])


@pytest.mark.parametrize("tracker", ["auto", "mprotect"])
def test_exit_while_another_thread_is_busy_in_the_layer(programs, tracker):
    """main returns while a second thread keeps calling into the layer (maps, copies into a
    coherent mapping, fence polls: each takes the layer's locks). Every run ends with main's
    status and one stats line: the exit path waits for no lock without bound, makes no GL call
    and uses no stdio, and prints before any library destructor runs."""
    for _ in range(5):
        p = glc_run([programs["exit_busy"]], "--tracker", tracker, timeout=60)
        assert p.returncode == 0, f"rc {p.returncode}\n{p.stdout}\n{p.stderr[-2000:]}"
        assert "busy thread running" in p.stdout
        st = one_stats(p)
        assert st["persistent_maps"] > 0, st


def test_egl_terminate_releases_contexts_and_shadows(programs):
    """A mapping left live when its display is terminated is released with its context: at exit
    one live shadow (the second round's) is counted, not two."""
    p = glc_run([programs["egl_terminate"]], timeout=60)
    assert p.returncode == 0 and "RESULT: pass" in p.stdout, p.stdout + p.stderr[-2000:]
    ptrs = re.findall(r"round (\d): ptr=(0x[0-9a-f]+)", p.stdout)
    assert len(ptrs) == 2 and all(int(a, 16) < DEFAULT_LIMIT for _, a in ptrs), ptrs
    st = one_stats(p)
    assert st["live_shadows"] == 1 and st["persistent_maps"] == 2, st


@pytest.mark.parametrize("tracker", ["auto", "mprotect"])
def test_dlclose_and_reload_of_the_gl_libraries(programs, tracker):
    """The program unloads libEGL and libOpenGL (they really go: the program checks with
    RTLD_NOLOAD) and loads them again: the second round must not call into the unloaded copy
    (it crashed before dlclose was hooked) and its mapping works like the first."""
    native = native_run([programs["dlclose_reload"]], timeout=60)
    assert native.returncode == 0 and "RESULT: pass" in native.stdout, native.stdout
    p = glc_run([programs["dlclose_reload"]], "--tracker", tracker, timeout=60)
    assert p.returncode == 0 and "RESULT: pass" in p.stdout, \
        f"rc {p.returncode}\n{p.stdout}\n{p.stderr[-2000:]}"
    assert p.stdout.count("unloaded libEGL=yes libOpenGL=yes") == 2, p.stdout
    ptrs = re.findall(r"ptr=(0x[0-9a-f]+)", p.stdout)
    assert len(ptrs) == 2 and all(int(a, 16) < DEFAULT_LIMIT for a in ptrs), ptrs
    st = one_stats(p)
    assert st["persistent_maps"] == 2 and st["shadowed_maps"] == 2, st


KINDS = ["read", "pread", "readv", "preadv", "recv", "recvfrom", "recvmsg", "fread"]


@pytest.mark.parametrize("door", ["direct", "dlsym", "dlvsym", "dlvsym-next"])
@pytest.mark.parametrize("tracker", ["auto", "uffd", "mprotect", "copy"])
def test_kernel_writes_into_mappings(programs, tracker, door):
    """read, pread, readv, preadv, recv, recvfrom, recvmsg and fread straight into a clean page
    of a persistent coherent mapping succeed under every tracker, and the next GL command sees
    the bytes. Under mprotect every page was write-protected at that moment (a raw system call
    into it fails with EFAULT): the interposer's libc wrappers prepared them. The same when the
    program found the functions through dlsym of a libc handle or through dlvsym by version,
    which natively reach libc's definitions past the interposer's exports."""
    p = glc_run([programs["kernel_writes"], door], "--tracker", tracker, timeout=60)
    assert f"door={door}" in p.stdout, p.stdout + p.stderr[-2000:]
    lines = dict(re.findall(r"kind=(\w+) (.*)", p.stdout))
    assert sorted(lines) == sorted(KINDS), p.stdout + p.stderr[-2000:]
    for kind, rest in lines.items():
        assert "ok=1" in rest and "got=64" in rest, (kind, rest)
        if tracker == "mprotect":
            assert "raw_efault=1" in rest, (kind, rest)
    assert p.returncode == 0 and "RESULT: pass" in p.stdout
    assert one_stats(p)["persistent_maps"] == 1
