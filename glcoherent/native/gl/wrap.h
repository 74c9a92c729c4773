/* gl/wrap.h [GL layer] - the table of wrapped GL entry points (internal). */
#ifndef GLC_GL_WRAP_H
#define GLC_GL_WRAP_H

#include <stddef.h>

/* The wrapper for a GL function name, or NULL if glcoherent does not wrap it. */
void *glc_wrapper_for(const char *name);
size_t glc_wrapper_count(void);
const char *glc_wrapper_name(size_t i);

/* gl/program.h's GLSL check, declared here with plain C types for the cffi binding (tests):
 * 1 if the source may write buffer memory. */
int glc_glsl_writes(int count, const char *const *strings, const int *lengths);

#endif
