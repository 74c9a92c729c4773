"""wow64: the particles demo, with every frame's vertices written by genuine 32-bit code.

The particle system is the particles demo's (a persistent coherent vertex ring, fences, the frame
id check), but the per-frame vertex update runs as i386 code in compatibility mode, the way Wine's
WoW64 mode runs a 32-bit Windows game inside a 64-bit process: the 64-bit side steps the
simulation and leaves each particle's pixel and speed in a small state array below 2 GiB; then it
far-calls c32_particles (demos/compat32_thunk.S, through glcoherent.demos.compat32), which gets
the ring section as a 32-bit pointer and writes the vertices - position in clip space computed
with SSE in 32-bit code, speed, frame id - straight into the mapping. The GPU draws them; the id
image read back through a persistent READ mapping proves every vertex came from this frame.

With --native glcoherent is not installed and the driver picks the address: on a 64-bit process
it is far above 4 GiB, a value no 32-bit register or pointer can hold. The demo says so and fails
(no vertex can be written), instead of truncating the pointer and scribbling over something else.

    python -m glcoherent demo wow64 [--headless] [--frames N] [--screenshot out.png] [--native]
    python demos/wow64.py ...
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # plain script: python demos/wow64.py
    import _script

    _script.setup()

from typing import Optional  # noqa: E402

import numpy as np  # noqa: E402

from glcoherent.demos import _common  # noqa: E402
from glcoherent.demos.particles import RING, Particles  # noqa: E402

STATE = np.dtype([("px", "<i4"), ("py", "<i4"), ("speed", "<f4")])   # what c32_particles reads


class Wow64(Particles):
    name = "wow64"
    description = ("the particles' per-frame vertex update done by i386 code in compatibility "
                   "mode, through a 32-bit pointer")

    def setup(self) -> None:
        from glcoherent.demos.compat32 import LIMIT_32, Compat32, Compat32Unavailable

        self.c32 = None
        self.unreachable: Optional[str] = None
        try:
            self.c32 = Compat32()
        except Compat32Unavailable as exc:
            self.unreachable = f"32-bit code cannot run on this machine: {exc}"
        super().setup()
        if self.c32 is None:
            return
        end = self.ring_ptr + RING * self.section
        if end > LIMIT_32:
            self.unreachable = (f"32-bit code cannot reach the vertex ring: the driver mapped it "
                                f"at 0x{self.ring_ptr:x}, beyond 0xffffffff, the highest address "
                                "a 32-bit pointer can hold")
            return
        self.state_ptr, raw = self.c32.alloc(self.count * STATE.itemsize)
        self.state = raw.view(STATE)
        self.c32_calls = 0

    def frame(self, i: int) -> None:
        if self.unreachable:                # nothing can write the vertices: draw nothing
            GL = self.GL
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.app.fbo)
            GL.glClearColor(0.02, 0.02, 0.06, 1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            return
        super().frame(i)

    def _write_vertices(self, s: int, px: np.ndarray, py: np.ndarray, speed: np.ndarray,
                        frame_id: int) -> None:
        w, h = self.app.width, self.app.height
        self.state["px"] = px
        self.state["py"] = py
        self.state["speed"] = speed
        # x = px * 2/w + (1/w - 1): the pixel centre in clip space (likewise y)
        self.c32.particles(self.ring_ptr + s * self.section, self.state_ptr, self.count,
                           frame_id, 2.0 / w, 1.0 / w - 1.0, 2.0 / h, 1.0 / h - 1.0)
        self.c32_calls += 1

    def finish(self) -> _common.Outcome:
        if self.unreachable:
            details = [f"wow64: {self.unreachable}",
                       "  (without --native glcoherent hands out the mapping below the limit)"]
            return _common.Outcome(False, self.unreachable, details)
        outcome = super().finish()
        code, stack_lo, stack_hi = self.c32.layout()
        outcome.details += [
            f"32-bit code: {self.c32_calls} calls of c32_particles in compatibility mode "
            f"(code at 0x{code:x}, stack 0x{stack_lo:x}..0x{stack_hi:x}), vertex ring passed "
            f"as the 32-bit pointer 0x{self.ring_ptr:08x}, particle state at "
            f"0x{self.state_ptr:08x}",
        ]
        outcome.summary = f"vertices written by 32-bit code, {outcome.summary}"
        return outcome


Demo = Wow64

if __name__ == "__main__":
    import sys

    sys.exit(_common.script_main(Demo))
