"""query-poll: occlusion-query results written into a persistent coherent buffer and polled by
the CPU without a fence, the way wined3d does it.

One buffer (READ|WRITE|PERSISTENT|COHERENT, mapped once) holds two 32-bit words per query.
Every frame draws four scenes, one per quadrant: an occluder rectangle, then a rectangle
behind it inside a GL_SAMPLES_PASSED query. Then, like wined3d's query buffers, the CPU marks
each result invalid through the mapping (word 0 = 0, word 1 = 0xFFFFFFFF), binds the buffer to
GL_QUERY_BUFFER and asks for the result twice, at offsets 0 and 4 (glGetQueryObjectuiv with a
buffer offset instead of a pointer). A result is ready when both words are equal. The CPU polls
the mapped words in a loop with nothing but ordinary GL calls in between (glGetError,
glFlush): no glFinish, no fence, no readback.

The check: every result must become ready, and equal the exact number of samples that pass,
known on the CPU: the rectangles are pixel-aligned, so the count is area(behind) minus the area
hidden by the occluder.

    python -m glcoherent demo query-poll [--headless] [--frames N] [--screenshot out.png]
    python demos/query_poll.py ...
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # plain script: python demos/query_poll.py
    import _script

    _script.setup()

import ctypes  # noqa: E402
import time  # noqa: E402
from typing import List, Tuple  # noqa: E402

import numpy as np  # noqa: E402

from glcoherent.demos import _common  # noqa: E402

QUERIES = 4            # one per quadrant
POLL_TIMEOUT = 2.0     # seconds before a result that never shows up counts as lost
Rect = Tuple[int, int, int, int]   # x0, y0, x1, y1 in pixels (x1, y1 exclusive)


def overlap(a: Rect, b: Rect) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def area(r: Rect) -> int:
    return (r[2] - r[0]) * (r[3] - r[1])


class QueryPoll(_common.Demo):
    name = "query-poll"
    description = "occlusion-query results in a coherent buffer, polled without a fence"
    default_frames = 60

    def setup(self) -> None:
        app, GL = self.app, self.GL
        flags = (GL.GL_MAP_READ_BIT | GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT
                 | GL.GL_MAP_COHERENT_BIT)
        self.buf, _, raw = app.persistent_buffer(
            "query results (QUERY)", GL.GL_QUERY_BUFFER, QUERIES * 8, flags)
        self.words = raw.view(np.uint32).reshape(QUERIES, 2)
        self.queries = [int(q) for q in np.ravel(GL.glGenQueries(QUERIES))]
        # the raw entry point takes the buffer offset where a pointer would be
        from OpenGL.raw.GL.VERSION.GL_1_5 import glGetQueryObjectuiv

        self.get_query = glGetQueryObjectuiv
        self.prog = app.program(vert="rect.vert", frag="rect.frag")
        self.u_rect = GL.glGetUniformLocation(self.prog, "u_rect")
        self.u_size = GL.glGetUniformLocation(self.prog, "u_size")
        self.u_depth = GL.glGetUniformLocation(self.prog, "u_depth")
        self.u_color = GL.glGetUniformLocation(self.prog, "u_color")
        self.hues = [(1.0, 0.45, 0.2), (0.3, 0.85, 0.4), (0.3, 0.55, 1.0), (0.95, 0.8, 0.25)]
        self.results = 0
        self.polls = 0
        self.max_polls = 0
        self.ready_at_once = 0
        self.lost = 0
        self.wrong = 0
        self.bad: List[str] = []

    def _rect(self, qx: int, qy: int, qw: int, qh: int) -> Rect:
        rng = self.app.rng
        w = int(rng.integers(qw // 6, qw * 3 // 4))
        h = int(rng.integers(qh // 6, qh * 3 // 4))
        x0 = qx + int(rng.integers(2, qw - w - 1))
        y0 = qy + int(rng.integers(2, qh - h - 1))
        return x0, y0, x0 + w, y0 + h

    def _draw_rect(self, r: Rect, depth: float, color) -> None:
        GL = self.GL
        GL.glUniform4f(self.u_rect, *map(float, r))
        GL.glUniform1f(self.u_depth, depth)
        GL.glUniform4f(self.u_color, *color, 1.0)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        self.app.draws += 1

    def frame(self, i: int) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        qw, qh = w // 2, h // 2
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, app.fbo)
        GL.glViewport(0, 0, w, h)
        GL.glClearColor(0.05, 0.05, 0.08, 1.0)
        GL.glClearDepth(1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glUseProgram(self.prog)
        GL.glUniform2f(self.u_size, float(w), float(h))
        GL.glBindVertexArray(app.empty_vao())
        expected = []
        for q in range(QUERIES):
            qx, qy = (q % 2) * qw, (q // 2) * qh
            front, back = self._rect(qx, qy, qw, qh), self._rect(qx, qy, qw, qh)
            hue = self.hues[q]
            self._draw_rect(front, -0.5, tuple(0.35 * c for c in hue))   # the occluder
            GL.glBeginQuery(GL.GL_SAMPLES_PASSED, self.queries[q])
            self._draw_rect(back, 0.0, hue)                              # partly hidden
            GL.glEndQuery(GL.GL_SAMPLES_PASSED)
            expected.append(area(back) - overlap(front, back))
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

        # wined3d: invalidate through the mapping, then queue the result twice into the buffer
        self.words[:, 0] = 0
        self.words[:, 1] = 0xFFFFFFFF
        GL.glBindBuffer(GL.GL_QUERY_BUFFER, self.buf)
        polls = 0
        t0 = time.monotonic()
        with app.sabotage():
            for q in range(QUERIES):
                for word in (0, 1):
                    self.get_query(self.queries[q], GL.GL_QUERY_RESULT,
                                   ctypes.c_void_p(q * 8 + word * 4))
            # poll the mapped words; only ordinary GL calls in between (no fence, no finish,
            # no readback). The buffer stays bound until the results are in.
            while not np.array_equal(self.words[:, 0], self.words[:, 1]):
                if time.monotonic() - t0 > POLL_TIMEOUT:
                    break
                polls += 1
                if polls % 2:
                    GL.glGetError()
                else:
                    GL.glFlush()
        GL.glBindBuffer(GL.GL_QUERY_BUFFER, 0)
        self.polls += polls
        self.max_polls = max(self.max_polls, polls)
        self.ready_at_once += polls == 0
        got = self.words.copy()
        for q in range(QUERIES):
            self.results += 1
            a, b = int(got[q, 0]), int(got[q, 1])
            if a != b:
                self.lost += 1
                problem = f"never became ready (words 0x{a:x}, 0x{b:x})"
            elif a != expected[q]:
                self.wrong += 1
                problem = f"{a} samples, expected {expected[q]}"
            else:
                continue
            if len(self.bad) < 5:
                self.bad.append(f"frame {i + 1}, query {q}: {problem}")

    def finish(self) -> _common.Outcome:
        ok = self.results > 0 and self.wrong == 0 and self.lost == 0
        details = [f"query-poll: {self.results} GL_SAMPLES_PASSED results through "
                   f"GL_QUERY_BUFFER, {self.polls} polls in all (at most {self.max_polls} "
                   f"for one frame; {self.ready_at_once} frames ready at the first look)"]
        details += self.bad
        summary = (f"{self.results} occlusion queries polled without a fence, "
                   f"{self.wrong} wrong sample counts")
        if self.lost:
            summary += f", {self.lost} never ready"
        return _common.Outcome(ok, summary, details + [])


Demo = QueryPoll

if __name__ == "__main__":
    import sys

    sys.exit(_common.script_main(Demo))
