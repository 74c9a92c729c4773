// (a) Dynamic buffer streaming: per draw, a dynamic vertex buffer is appended to with
// D3D11_MAP_WRITE_NO_OVERWRITE (WRITE_DISCARD when the ring wraps) and a dynamic constant buffer is
// rewritten with WRITE_DISCARD; FRAMES frames x DRAWS draws into a 256x256 render target texture.
// The image is read back through a staging texture every READBACK_EVERY frames (0: only after the
// last frame) and all read-back images are hashed together.
// Usage: stream.exe [FRAMES=20] [DRAWS=64] [READBACK_EVERY=1]
#include "common.h"

static const UINT kSize = 256;
static const UINT kRing = 64 * 1024;       // dynamic vertex ring, bytes

int main(int argc, char **argv) {
    const int frames = arg_int(argc, argv, 1, 20);
    const int draws = arg_int(argc, argv, 2, 64);
    const int readback_every = arg_int(argc, argv, 3, 1);

    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    create_device(&dev, &ctx);

    ColorPipeline pipe = make_color_pipeline(dev, kQuadShader);

    ID3D11Buffer *vb = make_buffer(dev, kRing, D3D11_USAGE_DYNAMIC, D3D11_BIND_VERTEX_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);
    ID3D11Buffer *cb = make_buffer(dev, 32, D3D11_USAGE_DYNAMIC, D3D11_BIND_CONSTANT_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);
    ID3D11Texture2D *rt = make_texture(dev, kSize, kSize, D3D11_USAGE_DEFAULT,
                                       D3D11_BIND_RENDER_TARGET, 0);
    ID3D11Texture2D *staging = make_texture(dev, kSize, kSize, D3D11_USAGE_STAGING, 0,
                                            D3D11_CPU_ACCESS_READ);
    ID3D11RenderTargetView *rtv;
    CHECK(dev->CreateRenderTargetView(rt, nullptr, &rtv));

    D3D11_VIEWPORT vp = {0, 0, (float)kSize, (float)kSize, 0, 1};
    ctx->RSSetViewports(1, &vp);
    ctx->OMSetRenderTargets(1, &rtv, nullptr);
    pipe.bind(ctx, cb);

    uint64_t image_hash = HASH_INIT;
    int readbacks = 0;
    unsigned long long drawn = 0;
    UINT ring_pos = 0;
    unsigned long long lowest_ptr = ~0ULL;
    // frame 0 pays for shader compilation and first-use allocations: time the frames after it
    double t0 = now_ms();
    for (int f = 0; f < frames; ++f) {
        if (f == 1)
            t0 = now_ms();
        const float clear[4] = {(f % 7) / 7.0f, (f % 5) / 5.0f, (f % 3) / 3.0f, 1.0f};
        ctx->ClearRenderTargetView(rtv, clear);
        for (int d = 0; d < draws; ++d) {
            Rng rng((uint32_t)(f * draws + d));
            const UINT bytes = kQuadVerts * sizeof(Vertex);
            D3D11_MAP how = D3D11_MAP_WRITE_NO_OVERWRITE;
            if (ring_pos + bytes > kRing) {
                how = D3D11_MAP_WRITE_DISCARD;
                ring_pos = 0;
            }
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(vb, 0, how, 0, &m));
            if (ptr_value(m.pData) < lowest_ptr)
                lowest_ptr = ptr_value(m.pData);
            Vertex *v = reinterpret_cast<Vertex *>(static_cast<char *>(m.pData) + ring_pos);
            write_quad(v, rng);   // placed by the constant buffer
            ctx->Unmap(vb, 0);

            CHECK(ctx->Map(cb, 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            write_quad_constants(static_cast<float *>(m.pData), rng);
            ctx->Unmap(cb, 0);

            const UINT stride = sizeof(Vertex), offset = ring_pos;
            ctx->IASetVertexBuffers(0, 1, &vb, &stride, &offset);
            ctx->Draw(kQuadVerts, 0);
            ring_pos += bytes;
        }
        const bool last = f == frames - 1;
        if (last || (readback_every > 0 && (f + 1) % readback_every == 0)) {
            const unsigned long long before = drawn;
            image_hash = hash_texture(ctx, staging, rt, kSize, kSize, image_hash, &drawn);
            REQUIRE(drawn > before, "frame %d: nothing drawn", f);
            ++readbacks;
        }
    }
    const double elapsed = now_ms() - t0;
    const int timed = frames > 1 ? frames - 1 : 1;

    printf("RESULT stream frames=%d draws=%d readbacks=%d drawn=%llu hash=%016llx\n", frames,
           draws, readbacks, drawn, (unsigned long long)image_hash);
    printf("TIME ms_per_frame=%.3f timed_ms=%.1f lowest_map=0x%llx\n", elapsed / timed, elapsed,
           lowest_ptr);
    fflush(stdout);

    ctx->ClearState();
    ctx->Flush();
    rtv->Release();
    staging->Release();
    rt->Release();
    cb->Release();
    vb->Release();
    pipe.release();
    ctx->Release();
    dev->Release();
    return 0;
}
