"""texture-stream: texture updates streamed through a persistent PIXEL_UNPACK buffer.

The upload buffer is mapped once (WRITE|PERSISTENT|COHERENT) as a ring of three slots. Every
frame the CPU waits on the fence of the frame that last used its slot, writes a band of new
texels into the slot through the mapping, and glTexSubImage2D reads them from the buffer (a GL
command that *reads* buffer memory: glcoherent must flush the CPU's writes before it). The frame
shows the whole texture 1:1 (texelFetch); glReadPixels copies the frame into a persistent
coherent READ ring (PIXEL_PACK), fenced.

The check: once a slot's fence has signalled, the frame read back must equal, byte for byte,
the CPU's model of the texture at that frame (all bands streamed so far).

    python -m glcoherent demo texture-stream [--headless] [--frames N] [--screenshot out.png]
    python demos/texture_stream.py ...
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # plain script: python demos/texture_stream.py
    import _script

    _script.setup()

import ctypes  # noqa: E402
from typing import List, Optional  # noqa: E402

import numpy as np  # noqa: E402

from glcoherent.demos import _common  # noqa: E402

RING = 3
BACKGROUND = (24, 24, 40, 255)


class TextureStream(_common.Demo):
    name = "texture-stream"
    description = "texture updates streamed through a persistent PIXEL_UNPACK buffer"
    default_frames = 120

    def setup(self) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        self.band = h // 4                                 # rows per update
        self.slot_bytes = w * self.band * 4
        self.frame_bytes = w * h * 4
        wflags = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        rflags = GL.GL_MAP_READ_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
        self.upload_buf, _, uraw = app.persistent_buffer(
            "upload ring (UNPACK)", GL.GL_PIXEL_UNPACK_BUFFER, RING * self.slot_bytes, wflags)
        self.upload = uraw.reshape(RING, self.band, w, 4)
        self.readback_buf, _, rraw = app.persistent_buffer(
            "readback ring (PACK)", GL.GL_PIXEL_PACK_BUFFER, RING * self.frame_bytes, rflags)
        self.readback = rraw.reshape(RING, h, w, 4)

        self.tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glTexStorage2D(GL.GL_TEXTURE_2D, 1, GL.GL_RGBA8, w, h)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glClearTexImage(self.tex, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                           np.array(BACKGROUND, dtype=np.uint8))
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.model = np.empty((h, w, 4), dtype=np.uint8)   # what the texture must hold
        self.model[:] = BACKGROUND

        self.prog = app.program(vert="fullscreen.vert", frag="texture_view.frag")
        GL.glUseProgram(self.prog)
        GL.glUniform1i(GL.glGetUniformLocation(self.prog, "u_tex"), 0)
        GL.glUseProgram(0)

        # a smooth palette and a sine table for the plasma the CPU computes
        t = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
        self.sin = np.round(np.sin(t) * 63.0).astype(np.int32)
        k = np.arange(256) / 256.0
        pal = np.stack([0.5 + 0.5 * np.cos(2 * np.pi * (k + o)) for o in (0.0, 0.33, 0.67)], 1)
        self.palette = np.round(pal * 255.0).astype(np.uint8)
        self.xs = np.arange(w, dtype=np.int32)[None, :]

        self.fences: List[Optional[object]] = [None] * RING
        self.expected: List[Optional[tuple]] = [None] * RING
        self.uploads = 0
        self.bytes_streamed = 0
        self.frames_checked = 0
        self.wrong_pixels = 0
        self.bad: List[str] = []

    def _band(self, i: int, y0: int) -> np.ndarray:
        """Plasma texels for rows y0 .. y0+band of frame i (RGBA, rows bottom to top)."""
        ys = np.arange(y0, y0 + self.band, dtype=np.int32)[:, None]
        s = self.sin
        v = (s[(self.xs * 2 + i * 3) & 255] + s[(ys * 3 - i * 2) & 255]
             + s[((self.xs + ys) * 2 + i * 5) & 255] + s[(self.xs - ys + i * 4) & 255])
        out = np.empty((self.band, self.app.width, 4), dtype=np.uint8)
        out[..., :3] = self.palette[(v // 2 + 128 + i * 2) & 255]
        out[..., 3] = 255
        return out

    def frame(self, i: int) -> None:
        app, GL = self.app, self.GL
        w, h = app.width, app.height
        s = i % RING
        if self.fences[s] is not None:
            app.wait(self.fences[s])
            self.fences[s] = None
            self._check(s)

        # new texels for a band that moves down the texture, written into the mapped slot
        y0 = (h - self.band) - (i * (self.band // 2)) % (h - self.band + 1)
        band = self._band(i, y0)
        self.upload[s] = band
        self.model[y0:y0 + self.band] = band

        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.upload_buf)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        with app.sabotage():
            GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, y0, w, self.band, GL.GL_RGBA,
                               GL.GL_UNSIGNED_BYTE, ctypes.c_void_p(s * self.slot_bytes))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        self.uploads += 1
        self.bytes_streamed += self.slot_bytes

        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, app.fbo)
        GL.glViewport(0, 0, w, h)
        GL.glUseProgram(self.prog)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindVertexArray(app.empty_vao())
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        app.draws += 1
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, app.fbo)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, self.readback_buf)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glReadPixels(0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                        ctypes.c_void_p(s * self.frame_bytes))
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        self.expected[s] = (i + 1, self.model.copy())
        self.fences[s] = app.fence()

    def _check(self, s: int) -> None:
        frame_id, model = self.expected[s]
        got = self.readback[s]
        wrong = int(np.count_nonzero(np.any(got != model, axis=2)))
        self.frames_checked += 1
        self.wrong_pixels += wrong
        if wrong and len(self.bad) < 5:
            rows = np.flatnonzero(np.any(np.any(got != model, axis=2), axis=1))
            self.bad.append(f"frame {frame_id}: {wrong} texels differ from what the CPU "
                            f"streamed (rows {rows[0]}..{rows[-1]})")
        self.expected[s] = None

    def finish(self) -> _common.Outcome:
        for s in range(RING):
            if self.fences[s] is not None:
                self.app.wait(self.fences[s])
                self.fences[s] = None
                self._check(s)
        ok = self.wrong_pixels == 0 and self.frames_checked > 0
        details = [f"texture-stream: {self.uploads} glTexSubImage2D from the UNPACK ring "
                   f"({self.bytes_streamed} bytes), {self.frames_checked} frames of "
                   f"{self.app.width}x{self.app.height} texels checked"] + self.bad
        return _common.Outcome(ok, f"{self.uploads} texture uploads, {self.frames_checked} "
                                   f"frames checked, {self.wrong_pixels} wrong texels", details)


Demo = TextureStream

if __name__ == "__main__":
    import sys

    sys.exit(_common.script_main(Demo))
