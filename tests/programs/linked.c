/* (a) Linked against libOpenGL and libEGL; calls gl* and egl* directly. */
#define GL_GLEXT_PROTOTYPES 1
#define EGL_EGLEXT_PROTOTYPES 1
#define EGLF(name) name
#define GLF(name) name
#include "glc_prog_common.h"

static int load_entry_points(void) { return 0; }
