"""What the demos share: window or headless context, glcoherent installation, persistent buffers,
fences, shader programs, a PNG writer, and the report printed at exit.

A demo is a class derived from Demo with setup(), frame(i) and finish() -> Outcome. run() drives
it: it picks the platform (a glfw window when a display exists, headless EGL otherwise or with
--headless) *before* PyOpenGL is imported, installs glcoherent, renders the frames, writes the
screenshot and prints the mapped addresses, the statistics and one verdict line starting with
"OK:" or "FAIL:". The exit code is 0 only for OK.

Nothing here imports OpenGL or glfw at module import time: `python -m glcoherent --help` stays
light and the PyOpenGL platform is still free to choose.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import struct
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Type

import numpy as np

from glcoherent._config import TRACKERS, format_size, resolve_limit

DEFAULT_SIZE = 256
WINDOW_PLATFORM = "glx"   # PyOpenGL platform for glfw windows (GLFW's X11 build uses GLX)
HEADLESS_PLATFORM = "egl"


# ---- command line ------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options every demo takes (python -m glcoherent demo NAME ... or demos/NAME.py ...)."""
    p.add_argument("--headless", action="store_true",
                   help="render off-screen on EGL surfaceless (automatic without DISPLAY)")
    p.add_argument("--frames", type=int, metavar="N",
                   help="frames to render (default: a few seconds' worth, per demo)")
    p.add_argument("--screenshot", metavar="PATH.png", help="write the last frame as a PNG")
    p.add_argument("--tracker", choices=TRACKERS,
                   help="glcoherent dirty-page tracker (default GLCOHERENT_TRACKER or auto)")
    p.add_argument("--limit", metavar="SIZE",
                   help="mappings must end at or below this address (default GLCOHERENT_LIMIT "
                        "or 4G; e.g. 2G, 3GiB, 0xC0000000)")
    p.add_argument("--size", default=str(DEFAULT_SIZE), metavar="W[xH]",
                   help=f"frame size in pixels (default {DEFAULT_SIZE})")
    p.add_argument("--particles", type=int, default=4096, metavar="N",
                   help="particles demo: number of particles (default 4096)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--native", action="store_true",
                   help="do not install glcoherent: show where the driver maps buffers by itself "
                        "(the verdict then fails when those addresses are above the limit)")
    # for the tests: skip glcoherent around the demo's critical calls, to show the check fails
    p.add_argument("--sabotage", action="store_true", help=argparse.SUPPRESS)


def parse_size_arg(text: str) -> Tuple[int, int]:
    parts = text.lower().split("x")
    try:
        if len(parts) == 1:
            w = h = int(parts[0])
        elif len(parts) == 2:
            w, h = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise SystemExit(f"--size: expected W or WxH, got {text!r}") from None
    if not (16 <= w <= 4096 and 16 <= h <= 4096) or w % 16 or h % 16:
        raise SystemExit("--size: width and height must be multiples of 16 in [16, 4096]")
    return w, h


def script_main(demo_cls: Type[Demo], argv: Optional[List[str]] = None) -> int:
    """Entry point of `python demos/NAME.py`."""
    p = argparse.ArgumentParser(prog=f"{demo_cls.name}.py", description=demo_cls.description)
    add_arguments(p)
    p.add_argument("-v", "--verbose", action="count", default=0)
    args = p.parse_args(argv)
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG if args.verbose > 1 else logging.INFO,
                            format="%(name)s: %(levelname)s: %(message)s")
    return run(demo_cls, args)


# ---- PNG -----------------------------------------------------------------------------------------

def write_png(path: str, pixels: np.ndarray) -> None:
    """Write an 8-bit RGB or RGBA image (rows top to bottom) as a PNG, with zlib only."""
    img = np.ascontiguousarray(pixels, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected HxWx3 or HxWx4 pixels, got shape {img.shape}")
    h, w, c = img.shape
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)   # filter byte 0 (None) per row
    raw[:, 1:] = img.reshape(h, w * c)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b""))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read_png(path: str) -> np.ndarray:
    """Read back an 8-bit, non-interlaced RGB/RGBA PNG (any filter): used by the tests."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    h = depth = ctype = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    if depth != 8 or ctype not in (2, 6):
        raise ValueError(f"{path}: only 8-bit RGB/RGBA PNGs are supported")
    c = 4 if ctype == 6 else 3
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), dtype=np.int32)
    prev = np.zeros(w * c, dtype=np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth: per byte
            cur = np.zeros_like(line)
            for i in range(w * c):
                a = cur[i - c] if i >= c else 0
                b = prev[i]
                cc = prev[i - c] if i >= c else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                cur[i] = (line[i] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.astype(np.uint8).reshape(h, w, c)


# ---- platform: glfw window or headless EGL ------------------------------------------------------

def _opengl_platform() -> Optional[str]:
    """The platform PyOpenGL already chose, or None when OpenGL is not imported yet."""
    if "OpenGL" not in sys.modules:
        return None
    try:
        from OpenGL import platform as glplatform
        name = type(glplatform.PLATFORM).__name__.lower()
    except Exception:  # noqa: BLE001
        return "unknown"
    for key in ("egl", "glx"):
        if key in name:
            return key
    return name


class Surface:
    """Where the frames go: a glfw window (GLX context) or nothing (headless EGL context)."""

    def __init__(self, width: int, height: int, title: str, headless: bool) -> None:
        self.width, self.height = width, height
        self.window = None
        self.glfw = None
        self.egl_context = None
        self.note = ""
        if not headless:
            headless = not self._open_window(title)
        if headless:
            self._open_headless()
        self.headless = headless

    def _open_window(self, title: str) -> bool:
        if not os.environ.get("DISPLAY"):
            self.note = "no DISPLAY: running headless"
            return False
        chosen = _opengl_platform()
        if chosen not in (None, WINDOW_PLATFORM):
            self.note = f"PyOpenGL already uses the {chosen} platform: running headless"
            return False
        os.environ.setdefault("PYGLFW_LIBRARY_VARIANT", "x11")
        try:
            import glfw
        except Exception as exc:  # noqa: BLE001 - no glfw: headless is still useful
            self.note = f"glfw unavailable ({exc}): running headless"
            return False
        try:
            glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_X11)
        except Exception:  # noqa: BLE001 - GLFW < 3.4
            pass
        if not glfw.init():
            self.note = "glfw.init() failed (no usable X display?): running headless"
            return False
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 4)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 5)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.RESIZABLE, False)
        glfw.window_hint(glfw.DOUBLEBUFFER, True)
        try:
            window = glfw.create_window(self.width, self.height, title, None, None)
        except Exception:  # noqa: BLE001 - pyGLFW may raise instead of returning NULL
            window = None
        if not window:
            glfw.terminate()
            self.note = "no GL 4.5 core window: running headless"
            return False
        glfw.make_context_current(window)
        glfw.swap_interval(1)
        glfw.set_key_callback(window, self._on_key)
        os.environ["PYOPENGL_PLATFORM"] = WINDOW_PLATFORM
        self.glfw, self.window = glfw, window
        return True

    def _on_key(self, window, key, _scancode, action, _mods) -> None:
        if key in (self.glfw.KEY_ESCAPE, self.glfw.KEY_Q) and action == self.glfw.PRESS:
            self.glfw.set_window_should_close(window, True)

    def _open_headless(self) -> None:
        chosen = _opengl_platform()
        if chosen not in (None, HEADLESS_PLATFORM):
            raise RuntimeError(f"PyOpenGL was imported with the {chosen} platform before the "
                               "demo could select EGL; run the demo in a fresh process")
        os.environ["PYOPENGL_PLATFORM"] = HEADLESS_PLATFORM
        from glcoherent.egl import HeadlessContext

        self.egl_context = HeadlessContext()

    @property
    def kind(self) -> str:
        return "headless EGL (surfaceless)" if self.headless else "glfw window (GLX)"

    def framebuffer_size(self) -> Tuple[int, int]:
        if self.window is None:
            return self.width, self.height
        return tuple(self.glfw.get_framebuffer_size(self.window))

    def should_close(self) -> bool:
        return self.window is not None and bool(self.glfw.window_should_close(self.window))

    def present(self, GL, fbo: int, capture: bool) -> Optional[np.ndarray]:
        """Show the frame rendered into fbo. In a window, with capture, read what the window's
        back buffer holds just before the swap (rows bottom to top, RGBA)."""
        if self.window is None:
            GL.glFlush()
            return None
        fw, fh = self.framebuffer_size()
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, 0)
        GL.glDrawBuffer(GL.GL_BACK)
        GL.glBlitFramebuffer(0, 0, self.width, self.height, 0, 0, fw, fh,
                             GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        shot = None
        if capture:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
            GL.glReadBuffer(GL.GL_BACK)
            shot = read_rgba(GL, fw, fh)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        self.glfw.swap_buffers(self.window)
        self.glfw.poll_events()
        return shot

    def close(self) -> None:
        if self.window is not None:
            self.glfw.destroy_window(self.window)
            self.glfw.terminate()
            self.window = None


def read_rgba(GL, width: int, height: int) -> np.ndarray:
    """glReadPixels of the bound read framebuffer into client memory (a synchronous readback)."""
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    out = np.empty((height, width, 4), dtype=np.uint8)
    GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, out)
    return out


# ---- the runtime a demo works with -------------------------------------------------------------

@dataclass
class Mapping:
    label: str
    pointer: int
    size: int
    flags: int

    @property
    def end(self) -> int:
        return self.pointer + self.size


@dataclass
class Outcome:
    """What a demo found: ok when every check passed; summary goes into the verdict line."""

    ok: bool
    summary: str
    details: List[str] = field(default_factory=list)


FLAG_NAMES = (("READ", 0x1), ("WRITE", 0x2), ("PERSISTENT", 0x40), ("COHERENT", 0x80),
              ("DYNAMIC_STORAGE", 0x100), ("CLIENT_STORAGE", 0x200))


def flag_text(flags: int) -> str:
    return "|".join(name for name, bit in FLAG_NAMES if flags & bit) or "0"


class App:
    """The context a demo runs in: GL, the frame buffer object to render into, glcoherent."""

    def __init__(self, args: argparse.Namespace, surface: Surface, installation,
                 limit: int) -> None:
        from OpenGL import GL

        self.GL = GL
        self.args = args
        self.surface = surface
        self.installation = installation
        self.limit = limit
        self.width, self.height = surface.width, surface.height
        self.rng = np.random.default_rng(args.seed)
        self.mappings: List[Mapping] = []
        self.draws = 0
        self.fence_waits = 0
        self.fence_blocks = 0
        self._vao = None
        self.fbo, self.color_rb, self.depth_rb = self.make_fbo(
            [(GL.GL_COLOR_ATTACHMENT0, GL.GL_RGBA8)], depth=True)

    # -- objects --
    def make_fbo(self, attachments, depth: bool = False) -> Tuple[int, ...]:
        GL = self.GL
        fbo = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        rbs = []
        for attachment, fmt in attachments:
            rb = GL.glGenRenderbuffers(1)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, self.width, self.height)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, rb)
            rbs.append(rb)
        if depth:
            rb = GL.glGenRenderbuffers(1)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24,
                                     self.width, self.height)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT,
                                         GL.GL_RENDERBUFFER, rb)
            rbs.append(rb)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"framebuffer incomplete: 0x{status:x}")
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        return (fbo, *rbs)

    def empty_vao(self) -> int:
        """A vertex array with no attributes (core profile needs one bound to draw)."""
        if self._vao is None:
            self._vao = self.GL.glGenVertexArrays(1)
        return self._vao

    def program(self, **stages: str) -> int:
        """Compile and link shaders from glcoherent.shaders: program(vert="a.vert", ...)."""
        from glcoherent import shaders

        GL = self.GL
        kinds = {"vert": GL.GL_VERTEX_SHADER, "frag": GL.GL_FRAGMENT_SHADER,
                 "comp": GL.GL_COMPUTE_SHADER}
        prog = GL.glCreateProgram()
        for kind, name in stages.items():
            sh = GL.glCreateShader(kinds[kind])
            GL.glShaderSource(sh, shaders.load(name))
            GL.glCompileShader(sh)
            if not GL.glGetShaderiv(sh, GL.GL_COMPILE_STATUS):
                log = GL.glGetShaderInfoLog(sh)
                raise RuntimeError(f"{name}: {log.decode(errors='replace') if log else '?'}")
            GL.glAttachShader(prog, sh)
            GL.glDeleteShader(sh)
        GL.glLinkProgram(prog)
        if not GL.glGetProgramiv(prog, GL.GL_LINK_STATUS):
            log = GL.glGetProgramInfoLog(prog)
            raise RuntimeError(f"link {stages}: {log.decode(errors='replace') if log else '?'}")
        return prog

    def persistent_buffer(self, label: str, target: int, size: int, flags: int,
                          dtype: Any = np.uint8) -> Tuple[int, int, np.ndarray]:
        """glBufferStorage + one glMapBufferRange for the buffer's lifetime (the AZDO way).
        Returns (buffer, pointer, numpy view of the mapping). Every pointer is recorded for
        the report and the verdict."""
        import glcoherent

        GL = self.GL
        buf = GL.glGenBuffers(1)
        GL.glBindBuffer(target, buf)
        GL.glBufferStorage(target, size, None, flags)
        access = flags & (GL.GL_MAP_READ_BIT | GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT
                          | GL.GL_MAP_COHERENT_BIT)
        ptr = GL.glMapBufferRange(target, 0, size, access)
        GL.glBindBuffer(target, 0)
        ptr = int(ptr.value if isinstance(ptr, ctypes.c_void_p) else ptr or 0)
        if not ptr:
            raise RuntimeError(f"glMapBufferRange returned NULL for {label}")
        self.mappings.append(Mapping(label, ptr, size, access))
        return buf, ptr, glcoherent.mapping_array(ptr, size, dtype)

    def sabotage(self):
        """With --sabotage (tests only), the calls in this block bypass glcoherent (no flush
        before draws, no copy-back at fences): the demo's check must then fail."""
        if getattr(self.args, "sabotage", False) and self.installation is not None:
            return self.installation.bypass()
        return contextlib.nullcontext()

    # -- synchronisation --
    def fence(self):
        return self.GL.glFenceSync(self.GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)

    def wait(self, sync, timeout_s: float = 20.0) -> None:
        """glClientWaitSync until signalled (counts the waits that had to block), then delete."""
        GL = self.GL
        self.fence_waits += 1
        r = GL.glClientWaitSync(sync, GL.GL_SYNC_FLUSH_COMMANDS_BIT, 0)
        deadline = time.monotonic() + timeout_s
        if r == GL.GL_TIMEOUT_EXPIRED:
            self.fence_blocks += 1
        while r == GL.GL_TIMEOUT_EXPIRED:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fence not signalled after {timeout_s} s")
            r = GL.glClientWaitSync(sync, GL.GL_SYNC_FLUSH_COMMANDS_BIT, 50_000_000)
        if r not in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED):
            raise RuntimeError(f"glClientWaitSync failed: 0x{int(r):x}")
        GL.glDeleteSync(sync)


class Demo:
    """Base class: override setup(), frame(i) and finish()."""

    name = "demo"
    description = ""
    default_frames = 60

    def __init__(self, app: App) -> None:
        self.app = app
        self.GL = app.GL

    def setup(self) -> None:
        pass

    def frame(self, i: int) -> None:
        raise NotImplementedError

    def finish(self) -> Outcome:
        raise NotImplementedError


# ---- the driver -------------------------------------------------------------------------------

def _mapping_report(app: App) -> Tuple[bool, str, List[str]]:
    limit = app.limit
    lines = []
    for m in app.mappings:
        where = "below" if m.end <= limit else "ABOVE"
        lines.append(f"  {m.label:<22} 0x{m.pointer:012x} .. 0x{m.end:012x} "
                     f"({m.size} bytes, {flag_text(m.flags)}) {where} the limit")
    n = len(app.mappings)
    above = [m for m in app.mappings if m.end > limit]
    lim = format_size(limit)
    noun = "persistent buffer" + ("s" if n != 1 else "")
    if n == 0:
        return False, "no persistent buffer was mapped", lines
    if above:
        high = max(m.end for m in above)
        return False, (f"{len(above)} of {n} {noun} mapped above {lim} "
                       f"(highest end 0x{high:x})"), lines
    return True, f"{n} {noun} mapped below {lim}", lines


def _stats_lines(app: App) -> Tuple[bool, List[str]]:
    if app.installation is None:
        return True, ["glcoherent: not installed (--native): the driver's own mappings"]
    st = app.installation.stats()
    ok = st.max_mapped_end <= app.limit
    return ok, [
        f"glcoherent: tracker {st.tracker_name}, limit {format_size(st.limit)}, "
        f"highest mapped end 0x{st.max_mapped_end:x}",
        f"  maps {st.maps} (persistent {st.persistent_maps}, shadowed {st.shadowed_maps}, "
        f"live shadows {st.live_shadows})",
        f"  flushed {st.bytes_flushed} bytes in {st.flushes} flushes, read back "
        f"{st.bytes_read_back} bytes in {st.copy_backs} copy-backs, {st.merges} merges",
        f"  tracking: {st.write_faults} write faults, {st.scans} scans, "
        f"{st.mode_switches} mode switches, {st.oom} out-of-memory",
    ]


def run(demo_cls: Type[Demo], args: argparse.Namespace,
        out: Callable[[str], None] = print) -> int:
    """Run one demo; print addresses, statistics and the verdict; 0 for OK, 1 for FAIL."""
    width, height = parse_size_arg(args.size)
    frames = args.frames if args.frames is not None else demo_cls.default_frames
    if frames < 1:
        raise SystemExit("--frames must be at least 1")
    limit = resolve_limit(args.limit)
    name = demo_cls.name
    surface = None
    try:
        surface = Surface(width, height, f"glcoherent demo: {name}", headless=args.headless)
        installation = None
        if not args.native:
            import glcoherent

            installation = glcoherent.install(limit=limit, tracker=args.tracker)
        app = App(args, surface, installation, limit)
        GL = app.GL
        renderer = GL.glGetString(GL.GL_RENDERER).decode(errors="replace")
        out(f"{name}: {surface.kind}, {width}x{height}, {frames} frames, {renderer}"
            + (f" ({surface.note})" if surface.note else ""))
        demo = demo_cls(app)
        demo.setup()
        t0 = time.perf_counter()
        window_shot = None
        done = 0
        for i in range(frames):
            demo.frame(i)
            done += 1
            last = i == frames - 1
            shot = surface.present(GL, app.fbo, capture=last)
            if shot is not None:
                window_shot = shot
            if surface.should_close():
                break
        outcome = demo.finish()
        elapsed = time.perf_counter() - t0
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, app.fbo)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        frame_pixels = read_rgba(GL, width, height)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        window_ok = True
        if window_shot is not None:
            if window_shot.shape == frame_pixels.shape:
                diff = int(np.count_nonzero(np.any(window_shot != frame_pixels, axis=2)))
                window_ok = diff == 0
                outcome.details.append(f"window back buffer: {diff} pixels differ from the "
                                       "rendered frame")
                if not window_ok:
                    outcome.summary += f", window shows {diff} wrong pixels"
            else:
                outcome.details.append("window framebuffer is scaled: not compared")
        shot_pixels = window_shot if window_shot is not None else frame_pixels
        if args.screenshot:
            write_png(args.screenshot, shot_pixels[::-1, :, :3])
            outcome.details.append(f"screenshot: {args.screenshot} "
                                   f"({shot_pixels.shape[1]}x{shot_pixels.shape[0]})")
        out(f"frames: {done} in {elapsed:.2f} s ({done / max(elapsed, 1e-9):.0f} fps), "
            f"{app.draws} draws, {app.fence_waits} fence waits "
            f"({app.fence_blocks} blocked)")
        map_ok, map_text, map_lines = _mapping_report(app)
        out(f"mappings handed out (limit 0x{limit:x}):")
        for line in map_lines:
            out(line)
        stats_ok, stats_lines = _stats_lines(app)
        for line in stats_lines + outcome.details:
            out(line)
        ok = map_ok and stats_ok and outcome.ok and window_ok
        if not stats_ok:
            map_text += ", but glcoherent reports a mapping above the limit"
        out(f"{'OK' if ok else 'FAIL'}: {map_text}, {outcome.summary}")
        return 0 if ok else 1
    except Exception as exc:  # noqa: BLE001 - a crash is a FAIL with a reason, not a traceback
        traceback.print_exc()
        out(f"FAIL: {name} did not complete: {type(exc).__name__}: {exc}")
        return 1
    finally:
        if surface is not None:
            surface.close()
