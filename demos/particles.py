"""particles: thousands of particles streamed every frame through a persistent coherent vertex
ring, the AZDO way.

The vertex buffer is mapped once (WRITE|PERSISTENT|COHERENT) and split into a ring of sections.
Frame f waits on the fence of frame f-N (glClientWaitSync) before it writes section f % N, writes
every particle's vertex (position at a pixel centre, speed, frame id), draws it twice (a glowing
pass for the eye, a 1-pixel pass that writes the frame id into an R32UI target), reads the id
image back into a persistent coherent READ buffer (glReadPixels into a PIXEL_PACK buffer), and
puts a fence after it.

The check: when the fence of frame f-N has signalled, the id image of frame f-N must show the id
f-N+1 at exactly the pixels of that frame's particles and nothing anywhere else. A vertex the GPU
drew from stale memory (a CPU write glcoherent did not flush in time) has an older id or sits at
an old position: it is counted as a stale vertex.

    python -m glcoherent demo particles [--headless] [--frames N] [--screenshot out.png]
    python demos/particles.py ...
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # plain script: python demos/particles.py
    import _script

    _script.setup()

import ctypes  # noqa: E402
from typing import List, Optional  # noqa: E402

import numpy as np  # noqa: E402

from glcoherent.demos import _common  # noqa: E402

RING = 3          # frames in flight
BATCHES = 4       # draws per pass per frame
STRIDE = 16       # bytes per vertex: vec2 position, float speed, uint frame id
VERTEX = np.dtype([("pos", "<f4", 2), ("speed", "<f4"), ("frame", "<u4")])
GRAVITY = -0.045  # pixels / frame^2


class Particles(_common.Demo):
    name = "particles"
    description = "particles streamed through a persistent coherent vertex ring with fences"
    default_frames = 180

    def setup(self) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        self.count = n = max(16, int(app.args.particles))
        rng = app.rng
        self.pos = np.zeros((n, 2), dtype=np.float64)
        self.vel = np.zeros((n, 2), dtype=np.float64)
        self.life = np.zeros(n, dtype=np.int64)
        self._spawn(np.arange(n))
        self.life = rng.integers(0, 260, n)   # staggered ages, then simulate to a steady state
        for _ in range(260):
            self._step()

        flags = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        self.section = n * STRIDE
        self.vbo, self.ring_ptr, raw = app.persistent_buffer(
            "vertex ring", GL.GL_ARRAY_BUFFER, RING * self.section, flags)
        self.ring = raw.view(VERTEX).reshape(RING, n)

        rflags = GL.GL_MAP_READ_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        self.pixels = w * h
        self.pbo, _, rraw = app.persistent_buffer(
            "id readback ring", GL.GL_PIXEL_PACK_BUFFER, RING * self.pixels * 4, rflags)
        self.readback = rraw.view(np.uint32).reshape(RING, self.pixels)

        self.vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glEnableVertexAttribArray(0)
        GL.glVertexAttribPointer(0, 2, GL.GL_FLOAT, GL.GL_FALSE, STRIDE, ctypes.c_void_p(0))
        GL.glEnableVertexAttribArray(1)
        GL.glVertexAttribPointer(1, 1, GL.GL_FLOAT, GL.GL_FALSE, STRIDE, ctypes.c_void_p(8))
        GL.glEnableVertexAttribArray(2)
        GL.glVertexAttribIPointer(2, 1, GL.GL_UNSIGNED_INT, STRIDE, ctypes.c_void_p(12))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

        self.glow = app.program(vert="particles.vert", frag="particles_glow.frag")
        self.idprog = app.program(vert="particles.vert", frag="particles_id.frag")
        self.glow_size = GL.glGetUniformLocation(self.glow, "u_point_size")
        self.id_size = GL.glGetUniformLocation(self.idprog, "u_point_size")
        self.id_fbo, self.id_rb = app.make_fbo([(GL.GL_COLOR_ATTACHMENT0, GL.GL_R32UI)])
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)

        self.fences: List[Optional[object]] = [None] * RING
        self.expected: List[Optional[tuple]] = [None] * RING  # (frame id, pixel index per vertex)
        self.frames_checked = 0
        self.vertices_checked = 0
        self.stale = 0
        self.extra_pixels = 0
        self.bad_frames: List[str] = []

    # -- simulation (CPU) --
    def _spawn(self, idx: np.ndarray) -> None:
        rng, w = self.app.rng, self.app.width
        k = len(idx)
        side = rng.integers(0, 3, k)                    # three fountains
        self.pos[idx, 0] = w * (0.25 + 0.25 * side) + rng.normal(0.0, 2.0, k)
        self.pos[idx, 1] = 4.0
        scale = self.app.height / 256.0
        self.vel[idx, 0] = (rng.normal(0.0, 0.35, k) + (side - 1) * 0.3) * scale
        self.vel[idx, 1] = rng.uniform(3.0, 4.6, k) * scale
        self.life[idx] = rng.integers(120, 260, k)

    def _step(self) -> None:
        w, h = self.app.width, self.app.height
        scale = h / 256.0
        self.vel[:, 1] += GRAVITY * scale
        self.pos += self.vel
        for axis, size in ((0, w), (1, h)):           # bounce off the walls, lose some energy
            low = self.pos[:, axis] < 0.0
            self.pos[low, axis] = -self.pos[low, axis]
            self.vel[low, axis] *= -0.6
            high = self.pos[:, axis] >= size
            self.pos[high, axis] = 2 * size - 0.001 - self.pos[high, axis]
            self.vel[high, axis] *= -0.6
        self.life -= 1
        fallen = (self.vel[:, 1] < 0) & (self.pos[:, 1] < 2.0)
        dead = np.nonzero((self.life <= 0) | fallen)[0]
        if len(dead):
            self._spawn(dead)

    # -- one frame --
    def frame(self, i: int) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        s = i % RING
        if self.fences[s] is not None:        # wait until the GPU is done with section s
            app.wait(self.fences[s])
            self.fences[s] = None
            self._check(s)

        self._step()
        px = np.clip(np.floor(self.pos[:, 0]), 0, w - 1).astype(np.int64)
        py = np.clip(np.floor(self.pos[:, 1]), 0, h - 1).astype(np.int64)
        frame_id = i + 1
        speed = np.minimum(np.hypot(self.vel[:, 0], self.vel[:, 1]) / 4.0, 1.0)
        self._write_vertices(s, px, py, speed, frame_id)
        self.expected[s] = (frame_id, py * w + px)

        GL.glViewport(0, 0, w, h)
        GL.glBindVertexArray(self.vao)
        first = s * self.count
        chunk = -(-self.count // BATCHES)

        # the check pass: frame ids, 1 pixel per particle
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.id_fbo)
        GL.glClearBufferuiv(GL.GL_COLOR, 0, np.zeros(4, dtype=np.uint32))
        GL.glDisable(GL.GL_BLEND)
        GL.glUseProgram(self.idprog)
        GL.glUniform1f(self.id_size, 1.0)
        self._draw(first, chunk)

        # the pass for the eye
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, app.fbo)
        GL.glClearColor(0.02, 0.02, 0.06, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE)
        GL.glUseProgram(self.glow)
        GL.glUniform1f(self.glow_size, max(3.0, 3.0 * h / 256.0))
        self._draw(first, chunk)
        GL.glDisable(GL.GL_BLEND)
        GL.glBindVertexArray(0)

        # read the id image into the persistent READ ring (asynchronous: a PIXEL_PACK buffer)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.id_fbo)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, self.pbo)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glReadPixels(0, 0, w, h, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT,
                        ctypes.c_void_p(s * self.pixels * 4))
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        self.fences[s] = app.fence()

    def _write_vertices(self, s: int, px: np.ndarray, py: np.ndarray, speed: np.ndarray,
                        frame_id: int) -> None:
        """Every particle's vertex of this frame, into ring section s: the pixel centre of
        (px, py) in clip space, its speed, the frame id."""
        w, h = self.app.width, self.app.height
        section = self.ring[s]                 # writes straight into the mapped ring
        section["pos"][:, 0] = (px + 0.5) * (2.0 / w) - 1.0
        section["pos"][:, 1] = (py + 0.5) * (2.0 / h) - 1.0
        section["speed"] = speed
        section["frame"] = frame_id

    def _draw(self, first: int, chunk: int) -> None:
        with self.app.sabotage():
            for b in range(0, self.count, chunk):
                self.GL.glDrawArrays(self.GL.GL_POINTS, first + b, min(chunk, self.count - b))
                self.app.draws += 1

    def _check(self, s: int) -> None:
        frame_id, idx = self.expected[s]
        got = self.readback[s]                        # GPU-written, seen through the mapping
        bad = int(np.count_nonzero(got[idx] != frame_id))
        covered = np.zeros(self.pixels, dtype=bool)
        covered[idx] = True
        extra = int(np.count_nonzero(got[~covered]))
        self.frames_checked += 1
        self.vertices_checked += len(idx)
        self.stale += bad + extra
        self.extra_pixels += extra
        if (bad or extra) and len(self.bad_frames) < 5:
            ids, counts = np.unique(got[got != 0], return_counts=True)
            seen = ", ".join(f"id {int(a)} x{int(c)}" for a, c in zip(ids[:4], counts[:4]))
            self.bad_frames.append(f"frame {frame_id}: {bad} vertices not drawn with this "
                                   f"frame's data, {extra} pixels from old vertices ({seen})")
        self.expected[s] = None

    def finish(self) -> _common.Outcome:
        app = self.app
        for s in range(RING):
            if self.fences[s] is not None:
                app.wait(self.fences[s])
                self.fences[s] = None
                self._check(s)
        ok = self.stale == 0 and self.frames_checked > 0
        details = [f"particles: {self.count} per frame, ring of {RING} sections of "
                   f"{self.section} bytes, {self.frames_checked} frames checked, "
                   f"{self.vertices_checked} vertices checked"] + self.bad_frames
        return _common.Outcome(ok, f"{app.draws} draws, {self.stale} stale vertices", details)


Demo = Particles

if __name__ == "__main__":
    import sys

    sys.exit(_common.script_main(Demo))
