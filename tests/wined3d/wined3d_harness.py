"""Shared by tests/test_wined3d.py and tests/wined3d/measure.py: find Wine and mingw-w64, build
the D3D11 programs in this directory, set up a Wine prefix, run a program natively or under
`python -m glcoherent run --stats`, and parse what it printed.

Every program prints `RESULT ...` (deterministic: hashes, counts) and `TIME key=value ...` on
stdout and exits 0 when its own checks pass. With --stats, the application process (the only one
of Wine's processes that uses GL) prints one `glcoherent-stats: {json}` line on stderr at exit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

GIB = 1 << 30
DEFAULT_LIMIT = 4 * GIB


@dataclass(frozen=True)
class Program:
    name: str
    args: tuple            # the CI run
    limit_args: tuple      # under --limit 2G (Wine leaves ~300 MiB of low memory below 2 GiB)
    unit: str              # the TIME key with the per-frame / per-round figure

    def args_for(self, mode: str) -> tuple:
        if mode == "limit2G":
            return self.limit_args
        return self.args


PROGRAMS = {p.name: p for p in [
    # 20 frames x 64 draws, a staging readback of the render target every frame
    Program("stream", ("20", "64", "1"), ("20", "64", "1"), "ms_per_frame"),
    # 8 rounds of every readback path on 256 KiB buffers
    Program("readback", ("8", "256"), ("8", "256"), "ms_per_round"),
    # 20 rounds of 7 query kinds (+2 wined3d does not offer), 10 s deadline per poll loop
    Program("queries", ("20", "10000"), ("20", "10000"), "ms_per_round"),
    # 3 rounds over forty 16 MiB dynamic buffers; four under --limit 2G (wined3d puts them in
    # 64 MiB chunks: four fit below 2 GiB next to Wine, six need a fifth, eight fail)
    Program("manybuf", ("3", "40", "16"), ("3", "4", "16"), "ms_per_round"),
]}

# how each program runs: natively, natively without ARB_buffer_storage (what wined3d does under
# Wine's WoW64 today), and interposed with each tracker and with --limit 2G
MODES = ("native", "hidden", "uffd", "mprotect", "copy", "auto", "limit2G")
HIDDEN_ENV = {"MESA_EXTENSION_OVERRIDE": "-GL_ARB_buffer_storage",
              "MESA_GL_VERSION_OVERRIDE": "4.3"}


def limit_of(mode: str) -> int:
    return 2 * GIB if mode == "limit2G" else DEFAULT_LIMIT


def find_tools() -> tuple[dict, list]:
    """The executables needed, and the names of those missing (with their Debian packages)."""
    want = {"wine": ("wine", "wine64"), "wineserver": ("wineserver",),
            "wineboot": ("wineboot",), "cxx": ("x86_64-w64-mingw32-g++",)}
    packages = {"wine": "wine wine64", "wineserver": "wine", "wineboot": "wine",
                "cxx": "mingw-w64"}
    tools, missing = {}, []
    for key, names in want.items():
        found = next((shutil.which(n) for n in names if shutil.which(n)), None)
        if found is None:
            for d in ("/usr/lib/wine",):      # Debian keeps wineserver here
                cand = Path(d) / names[0]
                if cand.exists():
                    found = str(cand)
        if found is None:
            missing.append(f"{names[0]} (apt-get install {packages[key]})")
        else:
            tools[key] = found
    return tools, missing


def build(cxx: str, out_dir: Path, names=None, timeout: float = 180) -> dict:
    """Compile the programs with mingw-w64 (static: no MinGW DLLs needed in the prefix), two at a
    time. Returns {name: path of the .exe}; raises RuntimeError with the compiler's output."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(names or PROGRAMS)
    exes, pending = {}, list(names)
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = []
        for name in batch:
            exe = out_dir / f"{name}.exe"
            cmd = [cxx, "-O2", "-static", "-std=c++17", "-Wall", "-I", str(HERE),
                   "-o", str(exe), str(HERE / f"{name}.cpp"),
                   "-ld3d11", "-ldxgi", "-ld3dcompiler_47"]
            procs.append((name, exe, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                      stderr=subprocess.STDOUT, text=True)))
        for name, exe, proc in procs:
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                raise RuntimeError(f"building {name} took over {timeout} s") from None
            if proc.returncode != 0 or not exe.exists():
                raise RuntimeError(f"building {name} failed:\n{out}")
            exes[name] = exe
    return exes


class WinePrefix:
    """A fresh WINEPREFIX with a persistent wineserver: `wineserver -p` first, then
    `wineboot -i` once, so each later run starts only the application itself."""

    def __init__(self, path: Path, display: str, tools: dict):
        self.path = Path(path)
        self.tools = tools
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith(("GLCOHERENT_", "MESA_")) or k == "LD_PRELOAD":
                self.env.pop(k)
        self.env.update({
            "WINEPREFIX": str(self.path),
            "WINEDEBUG": "-all",
            # no Mono/Gecko install prompts; a crash exits instead of waiting in winedbg
            "WINEDLLOVERRIDES": "mscoree,mshtml=;winedbg.exe=d",
            "DISPLAY": display,
            "WINEARCH": "win64",
        })
        # `python -m glcoherent run` must use the glcoherent this process would import (an
        # in-place build, an editable install, or an installed package), whatever the cwd
        spec = importlib.util.find_spec("glcoherent")
        if spec is not None and spec.origin:
            where = str(Path(spec.origin).resolve().parents[1])
            self.env["PYTHONPATH"] = os.pathsep.join(
                [where] + [p for p in self.env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.started = False

    def start(self, timeout: float = 240) -> float:
        """Returns the seconds the initialisation took."""
        t0 = time.monotonic()
        self.path.mkdir(parents=True, exist_ok=True)
        # the server daemonizes: no pipes for it to hold open
        subprocess.run([self.tools["wineserver"], "-p"], env=self.env, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        self.started = True
        with tempfile.TemporaryFile() as log:
            proc = subprocess.run([self.tools["wineboot"], "-i"], env=self.env, timeout=timeout,
                                  stdout=log, stderr=log)
            if proc.returncode != 0:
                log.seek(0)
                raise RuntimeError(f"wineboot -i exited {proc.returncode}:\n"
                                   f"{log.read().decode(errors='replace')[-3000:]}")
        return time.monotonic() - t0

    def stop(self):
        if self.started:
            try:
                subprocess.run([self.tools["wineserver"], "-k"], env=self.env, timeout=30,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                pass
            self.started = False


@dataclass
class Run:
    mode: str
    args: tuple
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    result: str | None = None
    timing: dict = field(default_factory=dict)
    stats: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.result is not None

    def app_stats(self) -> list:
        """The stats lines of processes that used GL (Wine's helpers print none or zeros)."""
        return [s for s in self.stats if s.get("persistent_maps", 0) > 0 or s.get("maps", 0) > 0]

    def describe(self) -> str:
        status = "timed out" if self.timed_out else f"exit status {self.returncode}"
        return (f"{self.mode} {' '.join(self.args)}: {status} after {self.seconds:.1f} s\n"
                f"--- stdout\n{self.stdout[-2000:]}\n--- stderr\n{self.stderr[-3000:]}")


def parse(run: Run) -> Run:
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            run.result = line[len("RESULT "):].strip()
        elif line.startswith("TIME "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                try:
                    run.timing[key] = float(value)
                except ValueError:
                    run.timing[key] = value
    for line in run.stderr.splitlines():
        if line.startswith("glcoherent-stats: "):
            try:
                run.stats.append(json.loads(line[len("glcoherent-stats: "):]))
            except ValueError:
                pass
    return run


def command(prefix: WinePrefix, exe: Path, args, mode: str) -> tuple[list, dict]:
    env = dict(prefix.env)
    cmd = [prefix.tools["wine"], str(exe), *args]
    if mode == "hidden":
        env.update(HIDDEN_ENV)
    elif mode != "native":
        tracker = "auto" if mode == "limit2G" else mode
        pre = [sys.executable, "-m", "glcoherent", "run", "--stats", "--tracker", tracker]
        if mode == "limit2G":
            pre += ["--limit", "2G"]
        cmd = pre + ["--"] + cmd
    return cmd, env


def run(prefix: WinePrefix, exe: Path, args, mode: str, timeout: float = 120) -> Run:
    """One run with a bounded time; on timeout the whole process group is killed. Output goes
    to files, not pipes, so that no straggling Wine process can hold a pipe open."""
    cmd, env = command(prefix, exe, args, mode)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return parse(Run(mode, tuple(args), proc.returncode, out.read().decode(errors="replace"),
                         err.read().decode(errors="replace"), seconds, timed_out))


def start_xvfb():
    """A private Xvfb on a free display: (its process, the DISPLAY value)."""
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "640x480x24",
                             "-nolisten", "tcp"], pass_fds=(wfd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    number = b""
    deadline = time.monotonic() + 30
    while not number.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise SystemExit("Xvfb did not start")
        if select.select([rfd], [], [], left)[0]:
            number += os.read(rfd, 16)
    os.close(rfd)
    time.sleep(0.5)
    return proc, f":{int(number.strip())}"


@contextlib.contextmanager
def standalone_session(display: str | None, name: str):
    """For the scripts run by hand (measure.py, exits.py): the tools, a private Xvfb unless
    `display` is given, a work directory and a fresh WinePrefix in it (not started). Yields
    (tools, work, prefix); stops the prefix and Xvfb and removes the directory afterwards.
    SystemExit names what is missing."""
    tools, missing = find_tools()
    if missing or not (display or shutil.which("Xvfb")):
        raise SystemExit("missing: " + ", ".join(missing or ["Xvfb"]))
    xvfb, display = (None, display) if display else start_xvfb()
    work = Path(tempfile.mkdtemp(prefix=f"glcoherent-{name}-"))
    prefix = WinePrefix(work / "prefix", display, tools)
    try:
        yield tools, work, prefix
    finally:
        prefix.stop()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
