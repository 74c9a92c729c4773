/* gl/pixels.c [GL layer] - see pixels.h. The layout follows the GL 4.6 core specification,
 * section 8.4.4.1 (unpacking), which section 18.2 applies to packing as well. */
#include "gl/pixels.h"

/* Components per pixel group; 0 when unknown. */
static int components(GLenum format)
{
    switch (format) {
    case GL_RED: case GL_GREEN: case GL_BLUE: case GL_ALPHA: case GL_RED_INTEGER:
    case GL_GREEN_INTEGER: case GL_BLUE_INTEGER: case GL_ALPHA_INTEGER: case GL_DEPTH_COMPONENT:
    case GL_STENCIL_INDEX: case GL_LUMINANCE:
        return 1;
    case GL_RG: case GL_RG_INTEGER: case GL_LUMINANCE_ALPHA: case GL_DEPTH_STENCIL:
        return 2;
    case GL_RGB: case GL_BGR: case GL_RGB_INTEGER: case GL_BGR_INTEGER:
        return 3;
    case GL_RGBA: case GL_BGRA: case GL_RGBA_INTEGER: case GL_BGRA_INTEGER:
        return 4;
    default:
        return 0;
    }
}

/* Bytes of one element: a component, or (*packed set) a whole packed pixel; 0 when unknown. */
static int element_size(GLenum type, int *packed)
{
    *packed = 1;
    switch (type) {
    case GL_UNSIGNED_BYTE_3_3_2: case GL_UNSIGNED_BYTE_2_3_3_REV:
        return 1;
    case GL_UNSIGNED_SHORT_5_6_5: case GL_UNSIGNED_SHORT_5_6_5_REV:
    case GL_UNSIGNED_SHORT_4_4_4_4: case GL_UNSIGNED_SHORT_4_4_4_4_REV:
    case GL_UNSIGNED_SHORT_5_5_5_1: case GL_UNSIGNED_SHORT_1_5_5_5_REV:
        return 2;
    case GL_UNSIGNED_INT_8_8_8_8: case GL_UNSIGNED_INT_8_8_8_8_REV:
    case GL_UNSIGNED_INT_10_10_10_2: case GL_UNSIGNED_INT_2_10_10_10_REV:
    case GL_UNSIGNED_INT_24_8: case GL_UNSIGNED_INT_10F_11F_11F_REV:
    case GL_UNSIGNED_INT_5_9_9_9_REV:
        return 4;
    case GL_FLOAT_32_UNSIGNED_INT_24_8_REV:
        return 8;
    default:
        break;
    }
    *packed = 0;
    switch (type) {
    case GL_UNSIGNED_BYTE: case GL_BYTE:
        return 1;
    case GL_UNSIGNED_SHORT: case GL_SHORT: case GL_HALF_FLOAT:
        return 2;
    case GL_UNSIGNED_INT: case GL_INT: case GL_FLOAT:
        return 4;
    default:
        return 0;
    }
}

static GLint pack_param(glc_ctx *c, GLenum pname)
{
    GLint v = 0;
    GLC_FN(&c->inst->gl, glGetIntegerv)(pname, &v);
    return v;
}

int64_t glc_pack_extent(glc_ctx *c, int64_t w, int64_t h, int64_t d, GLenum format, GLenum type)
{
    int packed, n = components(format);
    int64_t s = element_size(type, &packed);
    if (!n || !s)
        return -1;
    if (w <= 0 || h <= 0 || d <= 0)
        return 0;
    if (packed)
        n = 1; /* one element holds the whole group */
    else if (format == GL_DEPTH_STENCIL)
        return -1; /* only the packed depth-stencil types are valid */
    int64_t align = pack_param(c, GL_PACK_ALIGNMENT);
    int64_t row_len = pack_param(c, GL_PACK_ROW_LENGTH);
    int64_t img_h = pack_param(c, GL_PACK_IMAGE_HEIGHT);
    int64_t skip_px = pack_param(c, GL_PACK_SKIP_PIXELS);
    int64_t skip_rows = pack_param(c, GL_PACK_SKIP_ROWS);
    int64_t skip_img = d > 1 ? pack_param(c, GL_PACK_SKIP_IMAGES) : 0;
    if (align <= 0 || row_len < 0 || img_h < 0 || skip_px < 0 || skip_rows < 0 || skip_img < 0)
        return -1;
    int64_t l = row_len ? row_len : w, group = n * s;
    int64_t row = s >= align ? group * l : align * ((group * l + align - 1) / align);
    int64_t image = row * (img_h ? img_h : h);
    int64_t start = skip_img * image + skip_rows * row + skip_px * group;
    return start + (d - 1) * image + (h - 1) * row + w * group;
}

/* Dimensions of a level of the texture bound to `target`; -1 when the layer cannot tell (the
 * no-op a missing entry point resolves to leaves them 0, as does an empty level: both unknown). */
static int level_size(glc_ctx *c, GLenum target, GLint level, GLint *w, GLint *h, GLint *d)
{
    /* A cube map as a whole (GL 4.5 lets glGetTexImage return its six faces): ask one face. */
    GLenum face = target == GL_TEXTURE_CUBE_MAP ? GL_TEXTURE_CUBE_MAP_POSITIVE_X : target;
    *w = *h = *d = 0;
    GLC_FN(&c->inst->gl, glGetTexLevelParameteriv)(face, level, GL_TEXTURE_WIDTH, w);
    GLC_FN(&c->inst->gl, glGetTexLevelParameteriv)(face, level, GL_TEXTURE_HEIGHT, h);
    GLC_FN(&c->inst->gl, glGetTexLevelParameteriv)(face, level, GL_TEXTURE_DEPTH, d);
    if (target == GL_TEXTURE_CUBE_MAP)
        *d = 6;
    return *w > 0 && *h > 0 && *d > 0 ? 0 : -1;
}

int64_t glc_pack_extent_level(glc_ctx *c, GLenum target, GLint level, GLenum format,
                              GLenum type)
{
    GLint w, h, d;
    if (level_size(c, target, level, &w, &h, &d) != 0)
        return -1;
    return glc_pack_extent(c, w, h, d, format, type);
}

int64_t glc_pack_extent_compressed(glc_ctx *c, GLenum target, GLint level)
{
    /* The block pack state (GL 4.2) lays the blocks out: not followed here. Not asked before
     * 4.2, where the query itself would be an error in the application's queue. */
    int ver = glc_gl_version(c);
    if ((ver <= 0 || ver >= 42) && pack_param(c, GL_PACK_COMPRESSED_BLOCK_SIZE))
        return -1;
    GLenum face = target == GL_TEXTURE_CUBE_MAP ? GL_TEXTURE_CUBE_MAP_POSITIVE_X : target;
    GLint size = 0;
    GLC_FN(&c->inst->gl, glGetTexLevelParameteriv)(face, level, GL_TEXTURE_COMPRESSED_IMAGE_SIZE,
                                                  &size);
    if (size <= 0)
        return -1;
    return target == GL_TEXTURE_CUBE_MAP ? 6 * (int64_t)size : size;
}
