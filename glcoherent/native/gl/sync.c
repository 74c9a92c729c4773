/* gl/sync.c [GL layer] - sync points: when GPU writes to persistent mappings come back.
 * glFinish and synchronous readbacks cover the calling context's writes, a signalled fence
 * covers the writes of the context it was made in (up to when it was made), and polling
 * without a fence of the application's (wined3d's query buffers) uses fences of our own. The
 * covering itself (bringing the bytes back) is glc_group_cover, gl/layer.c. */
#include <stdlib.h>

#include "gl/group.h"

/* Does context ctx have uncovered writes in the group? */
static int has_writes_by(glc_group *g, uint64_t ctx)
{
    for (size_t i = 0; i < g->nmaps; i++)
        for (unsigned k = 0; k < g->maps[i]->nwriters; k++)
            if (g->maps[i]->writers[k].ctx == ctx || g->maps[i]->writers[k].ctx == 0)
                return 1;
    return 0;
}

/* Polling without a fence of the application's (wined3d's query buffers): each context that
 * has uncovered writes gets one polling fence of ours; any wrapped call in any context of the
 * group checks them all (sync objects are shared) without waiting. */
void glc_poll(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->npending))
        return;
    glc_dispatch *gl = &c->inst->gl;
    pthread_mutex_lock(&g->lock);
    int own = 0;
    for (size_t i = 0; i < g->npolls;) {
        fence_rec f = g->polls[i];
        GLenum r = GLC_FN(gl, glClientWaitSync)(f.sync, GL_SYNC_FLUSH_COMMANDS_BIT, 0);
        if (r == GL_ALREADY_SIGNALED || r == GL_CONDITION_SATISFIED || r == GL_WAIT_FAILED) {
            if (r != GL_WAIT_FAILED) {
                glc_group_cover(g, f.ctx, f.seq);
                GLC_FN(gl, glDeleteSync)(f.sync);
            }
            g->polls[i] = g->polls[--g->npolls];
            continue;
        }
        own |= f.ctx == c->id;
        i++;
    }
    if (g->npending && !own && has_writes_by(g, c->id)) {
        if (g->npolls == g->cappolls) {
            size_t cap = g->cappolls ? g->cappolls * 2 : 4;
            fence_rec *v = realloc(g->polls, cap * sizeof *v);
            if (!v) {
                pthread_mutex_unlock(&g->lock);
                return;
            }
            g->polls = v;
            g->cappolls = cap;
        }
        GLsync s = GLC_FN(gl, glFenceSync)(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        if (s)
            g->polls[g->npolls++] = (fence_rec){s, g->write_seq, c->id};
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_sync_all(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->npending))
        return;
    pthread_mutex_lock(&g->lock);
    glc_group_cover(g, c->id, UINT64_MAX);
    pthread_mutex_unlock(&g->lock);
}

void glc_readback_sync(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->npending))
        return;
    glc_dispatch *gl = &c->inst->gl;
    if (GLC_HAS(gl, glFenceSync) && GLC_HAS(gl, glClientWaitSync) &&
        GLC_HAS(gl, glDeleteSync)) {
        GLsync s = GLC_FN(gl, glFenceSync)(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        if (s) {
            GLenum r;
            do
                r = GLC_FN(gl, glClientWaitSync)(s, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ull);
            while (r == GL_TIMEOUT_EXPIRED);
            GLC_FN(gl, glDeleteSync)(s);
        }
    } else if (GLC_HAS(gl, glFinish)) {
        GLC_FN(gl, glFinish)();
    }
    glc_sync_all(c);
}

void glc_fence_created(glc_ctx *c, GLsync sync)
{
    if (!sync)
        return;
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    if (g->nfences == g->capfences) {
        size_t cap = g->capfences ? g->capfences * 2 : 16;
        fence_rec *f = realloc(g->fences, cap * sizeof *f);
        if (!f) {
            pthread_mutex_unlock(&g->lock);
            return;
        }
        g->fences = f;
        g->capfences = cap;
    }
    g->fences[g->nfences++] = (fence_rec){sync, g->write_seq, c->id};
    pthread_mutex_unlock(&g->lock);
}

void glc_fence_deleted(glc_ctx *c, GLsync sync)
{
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nfences; i++)
        if (g->fences[i].sync == sync) {
            g->fences[i] = g->fences[--g->nfences];
            break;
        }
    pthread_mutex_unlock(&g->lock);
}

void glc_fence_signalled(glc_ctx *c, GLsync sync)
{
    glc_group *g = c->group;
    if (!LOAD(g->npending))
        return;
    pthread_mutex_lock(&g->lock);
    fence_rec f = {sync, 0, 0}; /* unknown fence: bring data back but keep it pending */
    for (size_t i = 0; i < g->nfences; i++)
        if (g->fences[i].sync == sync) {
            f = g->fences[i];
            break;
        }
    glc_group_cover(g, f.ctx, f.seq);
    pthread_mutex_unlock(&g->lock);
}
