/* A GL program that never maps a buffer (linked against libOpenGL and libEGL): clears, draws
 * nothing, reads a pixel back, uploads and reads back a plain buffer, and prints what it saw.
 * Its output must be the same with and without glcoherent. */
#define GL_GLEXT_PROTOTYPES 1
#define EGLF(name) name
#define GLF(name) name
#define GLC_PROG_OWN_MAIN 1
#include "glc_prog_common.h"

GLC_UNUSED static int load_entry_points(void) { return 0; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (make_context() != 0)
        return fail("no surfaceless EGL context");
    GLuint fbo, rb, buf;
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glGenRenderbuffers(1, &rb);
    glBindRenderbuffer(GL_RENDERBUFFER, rb);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, 4, 4);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
    glClearColor(0.25f, 0.5f, 0.75f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    unsigned char px[4] = {0};
    glReadPixels(1, 1, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
    printf("pixel %u %u %u %u\n", px[0], px[1], px[2], px[3]);
    uint32_t in[256], out[256];
    for (int i = 0; i < 256; i++)
        in[i] = (uint32_t)i * 2654435761u;
    glGenBuffers(1, &buf);
    glBindBuffer(GL_ARRAY_BUFFER, buf);
    glBufferData(GL_ARRAY_BUFFER, sizeof in, in, GL_STATIC_DRAW);
    glGetBufferSubData(GL_ARRAY_BUFFER, 0, sizeof out, out);
    uint32_t sum = 0;
    for (int i = 0; i < 256; i++)
        sum = sum * 31u + out[i];
    printf("buffer checksum %08x %s\n", sum, memcmp(in, out, sizeof in) ? "differs" : "same");
    printf("error 0x%x\n", glGetError());
    return 0;
}
