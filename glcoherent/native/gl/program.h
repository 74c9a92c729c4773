/* gl/program.h [GL layer] - can the program in use write buffers, or read buffer textures?
 *
 * Private to gl/. A buffer bound as shader storage, atomic counter, image or transform-feedback
 * target is only written by a draw or dispatch whose program can write it, and a buffer behind
 * a buffer texture is only read (anywhere in its range: the layer cannot bound it) by a program
 * that declares a buffer-texture sampler or image. The layer learns it
 * from what it sees: the GLSL given to glShaderSource (a shader writes buffers when it declares
 * a `buffer` block not qualified `readonly`, or calls an image store or any atomic function; it
 * reads buffer textures when it names a `samplerBuffer` or `imageBuffer` type, or an i/u one),
 * the shaders attached at glLinkProgram, glCreateShaderProgramv, program pipelines, and whether
 * transform feedback is active. When in doubt, a program does both: programs linked before the
 * layer saw them, binaries (glProgramBinary, glShaderBinary, SPIR-V: not parsed), the old
 * ARB/EXT shader-object entry points, and preprocessor tricks that hide an identifier.
 *
 * Shader and program records live per share group (the objects are shared), under the group
 * lock; pipelines, the program in use and transform-feedback state per context.
 */
#ifndef GLC_GL_PROGRAM_H
#define GLC_GL_PROGRAM_H

#include "gl/layer.h"

typedef struct glc_programs glc_programs; /* per share group */

/* What a shader or program may do. */
#define GLC_PROG_WRITES 1u   /* write buffer memory (storage blocks, images, atomics, xfb) */
#define GLC_PROG_TEXBUF 2u   /* read buffer textures */
#define GLC_PROG_ALL (GLC_PROG_WRITES | GLC_PROG_TEXBUF)
typedef struct glc_pipelines glc_pipelines; /* per context */

void glc_programs_free(glc_programs *p);
void glc_pipelines_free(glc_pipelines *p);

/* What GLSL source (count strings, lengths as glShaderSource takes them) may do (GLC_PROG_*);
 * 1 if it may write buffer memory (exposed for tests). */
unsigned glc_glsl_use(GLsizei count, const GLchar *const *strings, const GLint *lengths);
int glc_glsl_writes(GLsizei count, const GLchar *const *strings, const GLint *lengths);

/* ---- the entry points (after the driver's call) ---- */
void glc_prog_shader_source(glc_ctx *c, GLuint shader, GLsizei count,
                            const GLchar *const *strings, const GLint *lengths);
/* glShaderBinary, glSpecializeShader: not parsed, the shader does all. */
void glc_prog_shader_opaque(glc_ctx *c, GLuint shader);
void glc_prog_attach(glc_ctx *c, GLuint program, GLuint shader, int attach);
void glc_prog_link(glc_ctx *c, GLuint program);
/* glProgramBinary (GLC_PROG_ALL), glCreateShaderProgramv (from its source), glDeleteProgram. */
void glc_prog_set(glc_ctx *c, GLuint program, unsigned use);
void glc_prog_deleted(glc_ctx *c, GLuint program);
void glc_prog_use(glc_ctx *c, GLuint program);
void glc_prog_bind_pipeline(glc_ctx *c, GLuint pipeline);
void glc_prog_pipeline_stages(glc_ctx *c, GLuint pipeline, GLbitfield stages, GLuint program);
void glc_prog_transform_feedback(glc_ctx *c, int active);
/* An entry point the layer does not follow: every program of the group may write. */
void glc_prog_unknown(glc_ctx *c);

/* With the group lock held: may the next draw or dispatch of c write buffer memory; read
 * buffer textures? */
int glc_prog_may_write(glc_ctx *c);
int glc_prog_may_read_texbufs(glc_ctx *c);

#endif
