/* gl/pixels.h [GL layer] - how many bytes a pixel pack command writes into a pack buffer.
 *
 * Private to gl/. A readback into a buffer bound to GL_PIXEL_PACK_BUFFER (glReadPixels,
 * glGetTexImage and friends) writes a byte range that starts at the command's pointer argument
 * (an offset into the buffer) and whose length follows from the width, height and depth, the
 * format and type, and the pack state (GL_PACK_ALIGNMENT, ROW_LENGTH, IMAGE_HEIGHT, SKIP_*),
 * which is read back from the driver at the call. The GL layer marks only that range written,
 * so a copy-back after a readback into a slice of a large chunk (wined3d sub-allocates its
 * pixel buffers from 64 MiB chunks) looks at the slice, not the chunk.
 *
 * Every function returns -1 when it cannot tell (an unknown format or type, compressed-block
 * pack state, a missing query entry point): the caller then counts the whole buffer written.
 */
#ifndef GLC_GL_PIXELS_H
#define GLC_GL_PIXELS_H

#include <stdint.h>

#include "gl/layer.h"

/* Bytes from the pointer to the end of the last byte written by packing a w x h x d image of
 * `format`/`type` under the current pack state (d > 1 uses IMAGE_HEIGHT and SKIP_IMAGES). */
int64_t glc_pack_extent(glc_ctx *c, int64_t w, int64_t h, int64_t d, GLenum format, GLenum type);

/* The same for a whole mip level of the texture bound to `target` (glGetTexImage). */
int64_t glc_pack_extent_level(glc_ctx *c, GLenum target, GLint level, GLenum format,
                              GLenum type);

/* Bytes glGetCompressedTexImage writes for a level of the texture bound to `target`. */
int64_t glc_pack_extent_compressed(glc_ctx *c, GLenum target, GLint level);

#endif
