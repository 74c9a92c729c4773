"""compute: a compute shader writes into a persistent coherent READ buffer; the CPU reads the
results through the mapping after a fence and checks every value.

Two persistent coherent buffers: parameters (WRITE, the CPU writes the view of each frame) and
results (READ, the shader writes a Mandelbrot iteration count per pixel, tagged with the frame
id). Both are rings of two slots, so the GPU computes frame f while the CPU checks frame f-1:
after glMemoryBarrier(CLIENT_MAPPED_BUFFER) and glFenceSync, the CPU waits with
glClientWaitSync, then compares the mapped results with its own computation of the same
fixed-point (integer) iteration, which must match bit for bit. The frame also shows the results
(a fragment shader reads the same buffer).

    python -m glcoherent demo compute [--headless] [--frames N] [--screenshot out.png]
    python demos/compute.py ...
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # plain script: python demos/compute.py
    import _script

    _script.setup()

from typing import List, Optional  # noqa: E402

import numpy as np  # noqa: E402

from glcoherent.demos import _common  # noqa: E402

SLOTS = 2
PARAM_STRIDE = 256          # >= GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT everywhere
MAX_ITER = 64
Q = 12                      # fixed point: 1.0 == 1 << 12
TARGET = (-0.7436439, 0.1318259)   # seahorse valley


def mandelbrot_reference(x0: int, y0: int, step: int, max_iter: int, width: int,
                         height: int) -> np.ndarray:
    """The shader's integer iteration, vectorised: counts for each pixel, row 0 first.
    Works on the still-iterating points only; a point that escapes at iteration k gets k."""
    cx = (x0 + np.arange(width, dtype=np.int32) * np.int32(step))[None, :].repeat(height, 0)
    cy = (y0 + np.arange(height, dtype=np.int32) * np.int32(step))[:, None].repeat(width, 1)
    cx, cy = cx.ravel(), cy.ravel()
    n = np.full(cx.size, max_iter, dtype=np.uint32)
    idx = np.arange(cx.size)
    x = np.zeros_like(cx)
    y = np.zeros_like(cy)
    bound = np.int32(4 << Q)
    for k in range(max_iter):
        x2 = (x * x) >> Q
        y2 = (y * y) >> Q
        going = (x2 + y2) <= bound
        if not going.all():
            n[idx[~going]] = k
            idx, x, y, x2, y2, cx, cy = (a[going] for a in (idx, x, y, x2, y2, cx, cy))
            if idx.size == 0:
                break
        xy = (x * y) >> (Q - 1)
        x = x2 - y2 + cx
        y = xy + cy
    return n


class Compute(_common.Demo):
    name = "compute"
    description = "a compute shader writes a coherent READ persistent buffer; checked after fences"
    default_frames = 30

    def setup(self) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        self.values = w * h
        wflags = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        rflags = GL.GL_MAP_READ_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        self.params_buf, _, praw = app.persistent_buffer(
            "parameters (SSBO)", GL.GL_SHADER_STORAGE_BUFFER, SLOTS * PARAM_STRIDE, wflags)
        self.params = praw.view(np.int32).reshape(SLOTS, PARAM_STRIDE // 4)
        self.results_buf, _, rraw = app.persistent_buffer(
            "results (SSBO)", GL.GL_SHADER_STORAGE_BUFFER, SLOTS * self.values * 4, rflags)
        self.results = rraw.view(np.uint32).reshape(SLOTS, self.values)

        self.comp = app.program(comp="mandelbrot.comp")
        self.view = app.program(vert="fullscreen.vert", frag="mandelbrot_view.frag")
        GL.glUseProgram(self.view)
        GL.glUniform2i(GL.glGetUniformLocation(self.view, "u_size"), w, h)
        GL.glUniform1i(GL.glGetUniformLocation(self.view, "u_max_iter"), MAX_ITER)
        GL.glUseProgram(0)

        self.fences: List[Optional[object]] = [None] * SLOTS
        self.pending: List[Optional[tuple]] = [None] * SLOTS
        self.dispatches = 0
        self.checked = 0
        self.wrong = 0
        self.bad: List[str] = []

    def _view_of(self, i: int) -> tuple:
        """Frame i zooms from the whole set towards TARGET (Q12, step >= 1 per pixel)."""
        w, h = self.app.width, self.app.height
        width = 3.2 * (0.93 ** i)
        step = max(1, int(round(width * (1 << Q) / w)))
        t = min(1.0, i / 25.0)
        cx = (-0.6 * (1 - t) + TARGET[0] * t) * (1 << Q)
        cy = (0.0 * (1 - t) + TARGET[1] * t) * (1 << Q)
        return int(cx) - (w // 2) * step, int(cy) - (h // 2) * step, step

    def frame(self, i: int) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        s = i % SLOTS
        if self.fences[s] is not None:
            app.wait(self.fences[s])
            self.fences[s] = None
            self._check(s)

        x0, y0, step = self._view_of(i)
        frame_id = (i + 1) & 0xFFFF
        self.params[s, :8] = (x0, y0, step, MAX_ITER, w, h, frame_id, 0)  # CPU -> coherent map
        self.pending[s] = (frame_id, x0, y0, step)

        GL.glUseProgram(self.comp)
        GL.glBindBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, self.params_buf,
                             s * PARAM_STRIDE, 32)
        GL.glBindBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 1, self.results_buf,
                             s * self.values * 4, self.values * 4)
        with app.sabotage():
            GL.glDispatchCompute(w // 16, h // 16, 1)
        self.dispatches += 1
        GL.glMemoryBarrier(GL.GL_SHADER_STORAGE_BARRIER_BIT
                           | GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)

        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, app.fbo)
        GL.glViewport(0, 0, w, h)
        GL.glUseProgram(self.view)
        GL.glBindVertexArray(app.empty_vao())
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        app.draws += 1
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        self.fences[s] = app.fence()

    def _check(self, s: int) -> None:
        frame_id, x0, y0, step = self.pending[s]
        expected = mandelbrot_reference(x0, y0, step, MAX_ITER, self.app.width, self.app.height)
        expected |= np.uint32(frame_id << 16)
        got = self.results[s]                     # GPU-written, read through the mapping
        wrong = int(np.count_nonzero(got != expected))
        self.checked += expected.size
        self.wrong += wrong
        if wrong and len(self.bad) < 5:
            k = int(np.flatnonzero(got != expected)[0])
            self.bad.append(f"frame {frame_id}: {wrong} wrong values, first at {k}: "
                            f"got 0x{int(got[k]):08x}, expected 0x{int(expected[k]):08x}")
        self.pending[s] = None

    def finish(self) -> _common.Outcome:
        for s in range(SLOTS):
            if self.fences[s] is not None:
                self.app.wait(self.fences[s])
                self.fences[s] = None
                self._check(s)
        ok = self.wrong == 0 and self.checked > 0
        details = [f"compute: {self.dispatches} dispatches of {self.app.width}x"
                   f"{self.app.height} invocations, {self.checked} results compared with "
                   "the CPU's fixed-point iteration"] + self.bad
        return _common.Outcome(ok, f"{self.dispatches} dispatches, {self.checked} results "
                                   f"checked, {self.wrong} wrong", details)


Demo = Compute

if __name__ == "__main__":
    import sys

    sys.exit(_common.script_main(Demo))
