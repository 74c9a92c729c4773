/* gl/program.h [GL layer] - can the program in use write buffers?
 *
 * Private to gl/. A buffer bound as shader storage, atomic counter, image or transform-feedback
 * target is only written by a draw or dispatch whose program can write it. The layer learns it
 * from what it sees: the GLSL given to glShaderSource (a shader writes buffers when it declares
 * a `buffer` block not qualified `readonly`, or calls an image store or any atomic function),
 * the shaders attached at glLinkProgram, glCreateShaderProgramv, program pipelines, and whether
 * transform feedback is active. When in doubt, a program writes: programs linked before the
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
typedef struct glc_pipelines glc_pipelines; /* per context */

void glc_programs_free(glc_programs *p);
void glc_pipelines_free(glc_pipelines *p);

/* 1 if GLSL source (count strings, lengths as glShaderSource takes them) may write buffer
 * memory. Exposed for tests. */
int glc_glsl_writes(GLsizei count, const GLchar *const *strings, const GLint *lengths);

/* ---- the entry points (after the driver's call) ---- */
void glc_prog_shader_source(glc_ctx *c, GLuint shader, GLsizei count,
                            const GLchar *const *strings, const GLint *lengths);
/* glShaderBinary, glSpecializeShader: not parsed, the shader writes. */
void glc_prog_shader_opaque(glc_ctx *c, GLuint shader);
void glc_prog_attach(glc_ctx *c, GLuint program, GLuint shader, int attach);
void glc_prog_link(glc_ctx *c, GLuint program);
/* glProgramBinary (writes), glCreateShaderProgramv (from its source), glDeleteProgram. */
void glc_prog_set(glc_ctx *c, GLuint program, int writes);
void glc_prog_deleted(glc_ctx *c, GLuint program);
void glc_prog_use(glc_ctx *c, GLuint program);
void glc_prog_bind_pipeline(glc_ctx *c, GLuint pipeline);
void glc_prog_pipeline_stages(glc_ctx *c, GLuint pipeline, GLbitfield stages, GLuint program);
void glc_prog_transform_feedback(glc_ctx *c, int active);
/* An entry point the layer does not follow: every program of the group may write. */
void glc_prog_unknown(glc_ctx *c);

/* With the group lock held: may the next draw or dispatch of c write buffer memory? */
int glc_prog_may_write(glc_ctx *c);

#endif
