/* gl/program.c [GL layer] - see program.h. */
#include "gl/program.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gl/group.h"
#include "gl/wrap.h"

typedef struct shader_rec {
    GLuint name;
    unsigned use;            /* GLC_PROG_* */
} shader_rec;

typedef struct program_rec {
    GLuint name;
    unsigned use;            /* decided at link (or binary / separable creation) */
    GLuint *shaders;         /* attached now */
    size_t nshaders, cap;
} program_rec;

struct glc_programs {
    shader_rec *sh;
    size_t nsh, capsh;
    program_rec *pr;
    size_t npr, cappr;
    int unknown;             /* an entry point the layer does not follow was used */
};

#define STAGES 6
struct glc_pipelines {
    struct pipe_rec {
        GLuint name;
        GLuint stage[STAGES]; /* vertex, fragment, geometry, tess control, tess eval, compute */
    } *v;
    size_t n, cap;
    GLuint bound;
};

void glc_programs_free(glc_programs *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npr; i++)
        free(p->pr[i].shaders);
    free(p->pr);
    free(p->sh);
    free(p);
}

void glc_pipelines_free(glc_pipelines *p)
{
    if (p) {
        free(p->v);
        free(p);
    }
}

/* Grow *v (elements of size sz) to hold n + 1; 0 or -1 without memory. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, c * sz);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = c;
    return 0;
}

/* ---- GLSL ---------------------------------------------------------------------------------- */

static int ident_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int ident_char(char ch)
{
    return ident_start(ch) || (ch >= '0' && ch <= '9');
}

static int is_token(const char *t, size_t n, const char *word)
{
    return strlen(word) == n && !memcmp(t, word, n);
}

static int has_prefix(const char *t, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(t, prefix, k);
}

/* Buffer-texture types: a shader that declares one may read buffer textures. */
static int texbuf_type(const char *t, size_t n)
{
    static const char *const types[] = {"samplerBuffer", "isamplerBuffer", "usamplerBuffer",
                                        "imageBuffer", "iimageBuffer", "uimageBuffer", NULL};
    for (const char *const *w = types; *w; w++)
        if (is_token(t, n, *w))
            return 1;
    return 0;
}

/* One pass over comment-free text: what the shader may do (GLC_PROG_*), stopping once it may do
 * everything. */
static unsigned scan_use(const char *s, size_t len)
{
    unsigned use = 0;
    int in_buffer_decl = 0, readonly_seen = 0;
    for (size_t i = 0; i < len && use != GLC_PROG_ALL;) {
        char ch = s[i];
        if (ident_start(ch)) {
            size_t j = i;
            while (j < len && ident_char(s[j]))
                j++;
            const char *t = s + i;
            size_t n = j - i;
            if (has_prefix(t, n, "imageStore") || has_prefix(t, n, "imageAtomic") ||
                has_prefix(t, n, "atomic"))
                use |= GLC_PROG_WRITES;
            else if (texbuf_type(t, n))
                use |= GLC_PROG_TEXBUF;
            else if (is_token(t, n, "readonly"))
                readonly_seen = 1;
            else if (is_token(t, n, "buffer"))
                in_buffer_decl = 1;
            i = j;
            continue;
        }
        if (ch == '{' && in_buffer_decl && !readonly_seen)
            use |= GLC_PROG_WRITES; /* a storage block the shader may write */
        if (ch == ';' || ch == '{' || ch == '}') {
            in_buffer_decl = 0;
            readonly_seen = 0;
        }
        i++;
    }
    if (in_buffer_decl && !readonly_seen)
        use |= GLC_PROG_WRITES;
    return use;
}

unsigned glc_glsl_use(GLsizei count, const GLchar *const *strings, const GLint *lengths)
{
    if (count < 0 || (count && !strings))
        return GLC_PROG_ALL;
    size_t total = 0;
    for (GLsizei i = 0; i < count; i++) {
        if (!strings[i])
            return GLC_PROG_ALL;
        total += lengths && lengths[i] >= 0 ? (size_t)lengths[i] : strlen(strings[i]);
    }
    char *text = malloc(total + 1);
    if (!text)
        return GLC_PROG_ALL;
    size_t o = 0;
    for (GLsizei i = 0; i < count; i++) {
        size_t n = lengths && lengths[i] >= 0 ? (size_t)lengths[i] : strlen(strings[i]);
        memcpy(text + o, strings[i], n);
        o += n;
    }
    text[o] = 0;
    /* Blank out comments (a comment may span strings: they are one text). */
    for (size_t k = 0; k + 1 < o; k++) {
        if (text[k] != '/' || (text[k + 1] != '/' && text[k + 1] != '*'))
            continue;
        int line = text[k + 1] == '/';
        size_t e = k + 2;
        while (e < o && (line ? text[e] != '\n' : !(text[e] == '*' && e + 1 < o &&
                                                     text[e + 1] == '/')))
            e++;
        if (!line)
            e = e + 2 < o ? e + 2 : o;
        memset(text + k, ' ', e - k);
        k = e - 1;
    }
    unsigned use = scan_use(text, o);
    free(text);
    return use;
}

int glc_glsl_writes(GLsizei count, const GLchar *const *strings, const GLint *lengths)
{
    return (glc_glsl_use(count, strings, lengths) & GLC_PROG_WRITES) != 0;
}

/* ---- records ------------------------------------------------------------------------------- */

static glc_programs *progs(glc_group *g)
{
    if (!g->progs)
        g->progs = calloc(1, sizeof *g->progs);
    return g->progs;
}

static shader_rec *shader_get(glc_programs *p, GLuint name, int create)
{
    for (size_t i = 0; i < p->nsh; i++)
        if (p->sh[i].name == name)
            return &p->sh[i];
    if (!create || grow((void **)&p->sh, &p->capsh, p->nsh, sizeof *p->sh))
        return NULL;
    p->sh[p->nsh] = (shader_rec){name, GLC_PROG_ALL};
    return &p->sh[p->nsh++];
}

static program_rec *program_get(glc_programs *p, GLuint name, int create)
{
    for (size_t i = 0; i < p->npr; i++)
        if (p->pr[i].name == name)
            return &p->pr[i];
    if (!create || grow((void **)&p->pr, &p->cappr, p->npr, sizeof *p->pr))
        return NULL;
    p->pr[p->npr] = (program_rec){.name = name, .use = GLC_PROG_ALL};
    return &p->pr[p->npr++];
}

static void set_shader(glc_ctx *c, GLuint shader, unsigned use)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = progs(g);
    shader_rec *s = p ? shader_get(p, shader, 1) : NULL;
    if (s)
        s->use = use;
    else if (p)
        p->unknown = 1; /* no memory to remember it: assume the worst from now on */
    pthread_mutex_unlock(&g->lock);
}

void glc_prog_shader_source(glc_ctx *c, GLuint shader, GLsizei count,
                            const GLchar *const *strings, const GLint *lengths)
{
    set_shader(c, shader, glc_glsl_use(count, strings, lengths));
}

void glc_prog_shader_opaque(glc_ctx *c, GLuint shader)
{
    set_shader(c, shader, GLC_PROG_ALL);
}

void glc_prog_attach(glc_ctx *c, GLuint program, GLuint shader, int attach)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = progs(g);
    program_rec *r = p ? program_get(p, program, 1) : NULL;
    if (r) {
        size_t k = 0;
        while (k < r->nshaders && r->shaders[k] != shader)
            k++;
        if (!attach && k < r->nshaders)
            r->shaders[k] = r->shaders[--r->nshaders];
        else if (attach && k == r->nshaders &&
                 !grow((void **)&r->shaders, &r->cap, r->nshaders, sizeof *r->shaders))
            r->shaders[r->nshaders++] = shader;
        else if (attach && k == r->nshaders && p)
            p->unknown = 1;
    } else if (p) {
        p->unknown = 1;
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_prog_link(glc_ctx *c, GLuint program)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = progs(g);
    program_rec *r = p ? program_get(p, program, 1) : NULL;
    if (r) {
        /* Attachments made before the layer saw them are unknown: no shader, does all. */
        unsigned use = r->nshaders == 0 ? GLC_PROG_ALL : 0;
        for (size_t k = 0; k < r->nshaders && use != GLC_PROG_ALL; k++) {
            shader_rec *s = shader_get(p, r->shaders[k], 0);
            use |= s ? s->use : GLC_PROG_ALL;
        }
        r->use = use;
    } else if (p) {
        p->unknown = 1;
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_prog_set(glc_ctx *c, GLuint program, unsigned use)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = progs(g);
    program_rec *r = p ? program_get(p, program, 1) : NULL;
    if (r)
        r->use = use;
    else if (p)
        p->unknown = 1;
    pthread_mutex_unlock(&g->lock);
}

void glc_prog_deleted(glc_ctx *c, GLuint program)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = g->progs;
    program_rec *r = p ? program_get(p, program, 0) : NULL;
    if (r) {
        /* A program in use stays usable until unbound: keep what it does, forget who is
         * attached (the name may come back for a new program, linked afresh). */
        r->nshaders = 0;
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_prog_use(glc_ctx *c, GLuint program)
{
    c->program = program;
    c->program_known = 1;
}

static struct pipe_rec *pipe_get(glc_ctx *c, GLuint name, int create)
{
    if (!c->pipes) {
        if (!create || !(c->pipes = calloc(1, sizeof *c->pipes)))
            return NULL;
    }
    glc_pipelines *p = c->pipes;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].name == name)
            return &p->v[i];
    if (!create || grow((void **)&p->v, &p->cap, p->n, sizeof *p->v))
        return NULL;
    memset(&p->v[p->n], 0, sizeof p->v[p->n]);
    p->v[p->n].name = name;
    return &p->v[p->n++];
}

void glc_prog_bind_pipeline(glc_ctx *c, GLuint pipeline)
{
    c->pipeline = pipeline;
}

void glc_prog_pipeline_stages(glc_ctx *c, GLuint pipeline, GLbitfield stages, GLuint program)
{
    static const GLbitfield bits[STAGES] = {
        GL_VERTEX_SHADER_BIT, GL_FRAGMENT_SHADER_BIT, GL_GEOMETRY_SHADER_BIT,
        GL_TESS_CONTROL_SHADER_BIT, GL_TESS_EVALUATION_SHADER_BIT, GL_COMPUTE_SHADER_BIT};
    struct pipe_rec *r = pipe_get(c, pipeline, 1);
    if (!r) {
        glc_prog_unknown(c);
        return;
    }
    for (int i = 0; i < STAGES; i++)
        if (stages & bits[i])
            r->stage[i] = program;
}

void glc_prog_transform_feedback(glc_ctx *c, int active)
{
    c->tfb_active = active;
}

void glc_prog_unknown(glc_ctx *c)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    glc_programs *p = progs(g);
    if (p)
        p->unknown = 1;
    else
        c->tfb_active = 1; /* no memory for the record: this context assumes the worst */
    pthread_mutex_unlock(&g->lock);
}

static unsigned program_use(glc_programs *p, GLuint program)
{
    program_rec *r = program_get(p, program, 0);
    return r ? r->use : GLC_PROG_ALL;
}

/* What the next draw or dispatch of c may do (GLC_PROG_*). */
static unsigned prog_use(glc_ctx *c)
{
    glc_programs *p = c->group->progs;
    if (!p || p->unknown || !c->program_known)
        return GLC_PROG_ALL; /* (a program made current before the layer saw it) */
    unsigned use = c->tfb_active ? GLC_PROG_WRITES : 0;
    if (c->program)
        return use | program_use(p, c->program);
    if (!c->pipeline)
        return use; /* no program: fixed function, which writes no buffer, reads no texture
                     * buffer */
    struct pipe_rec *r = pipe_get(c, c->pipeline, 0);
    if (!r)
        return GLC_PROG_ALL; /* stages set before the layer saw them */
    for (int i = 0; i < STAGES; i++)
        if (r->stage[i])
            use |= program_use(p, r->stage[i]);
    return use;
}

int glc_prog_may_write(glc_ctx *c)
{
    return (prog_use(c) & GLC_PROG_WRITES) != 0;
}

int glc_prog_may_read_texbufs(glc_ctx *c)
{
    return (prog_use(c) & GLC_PROG_TEXBUF) != 0;
}
