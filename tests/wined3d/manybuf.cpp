// (d) Many dynamic buffers: BUFFERS dynamic vertex buffers of SIZE_MIB MiB each. Every round maps
// each buffer with WRITE_DISCARD, writes its first and last page and a triangle at a
// round-dependent offset in between, and draws the triangle from that offset into a 256x256
// render target; after the round the image goes back through a staging texture and is hashed.
// Usage: manybuf.exe [ROUNDS=3] [BUFFERS=40] [SIZE_MIB=16]
#include "common.h"

static const char *kShader = R"(
struct VOut { float4 pos : SV_Position; float4 col : COLOR; };
VOut vs_main(float2 p : POSITION, float4 c : COLOR) {
    VOut o;
    o.pos = float4(p, 0.0, 1.0);
    o.col = c;
    return o;
}
float4 ps_main(VOut i) : SV_Target { return i.col; }
)";

static const UINT kSize = 256;

int main(int argc, char **argv) {
    const int rounds = arg_int(argc, argv, 1, 3);
    const int nbuf = arg_int(argc, argv, 2, 40);
    const UINT size = (UINT)arg_int(argc, argv, 3, 16) << 20;

    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    create_device(&dev, &ctx);

    ColorPipeline pipe = make_color_pipeline(dev, kShader);
    std::vector<ID3D11Buffer *> bufs(nbuf);
    for (int i = 0; i < nbuf; ++i)
        bufs[i] = make_buffer(dev, size, D3D11_USAGE_DYNAMIC, D3D11_BIND_VERTEX_BUFFER,
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
    pipe.bind(ctx, nullptr);

    uint64_t h = HASH_INIT;
    unsigned long long drawn = 0;
    unsigned long long lowest = ~0ULL, highest = 0;
    double t0 = now_ms();
    for (int r = 0; r < rounds; ++r) {
        if (r == 1)
            t0 = now_ms();
        const float clear[4] = {0.1f * (r % 10), 0.0f, 0.0f, 1.0f};
        ctx->ClearRenderTargetView(rtv, clear);
        for (int i = 0; i < nbuf; ++i) {
            Rng rng((uint32_t)(r * nbuf + i));
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(bufs[i], 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            char *p = static_cast<char *>(m.pData);
            if (ptr_value(p) < lowest)
                lowest = ptr_value(p);
            if (ptr_value(p) + size > highest)
                highest = ptr_value(p) + size;
            memset(p, 0x11 * (i % 15 + 1), 4096);                // first page
            memset(p + size - 4096, 0x22 ^ i, 4096);             // last page
            // the triangle, 12-byte aligned, somewhere between them
            const UINT slots = (size - 8192) / sizeof(Vertex) - 3;
            const UINT offset = 4096 + (rng.next() % slots) / 4 * 4 * sizeof(Vertex);
            Vertex *v = reinterpret_cast<Vertex *>(p + offset);
            const float cx = (int)(rng.next() % 180) / 100.0f - 0.9f;
            const float cy = (int)(rng.next() % 180) / 100.0f - 0.9f;
            const uint32_t color = rng.next() | 0xff000000u;
            v[0] = {cx - 0.1f, cy - 0.1f, color};                // clockwise
            v[1] = {cx, cy + 0.1f, color ^ 0x00ffffffu};
            v[2] = {cx + 0.1f, cy - 0.1f, color};
            ctx->Unmap(bufs[i], 0);
            const UINT stride = sizeof(Vertex);
            ctx->IASetVertexBuffers(0, 1, &bufs[i], &stride, &offset);
            ctx->Draw(3, 0);
        }
        const unsigned long long before = drawn;
        h = hash_texture(ctx, staging, rt, kSize, kSize, h, &drawn);
        REQUIRE(drawn > before, "round %d: nothing drawn", r);
    }
    const double elapsed = now_ms() - t0;
    const int timed = rounds > 1 ? rounds - 1 : 1;

    printf("RESULT manybuf rounds=%d buffers=%d size_mib=%u drawn=%llu hash=%016llx\n", rounds,
           nbuf, size >> 20, drawn, (unsigned long long)h);
    printf("TIME ms_per_round=%.3f timed_ms=%.1f maps=0x%llx-0x%llx\n", elapsed / timed, elapsed,
           lowest, highest);
    fflush(stdout);

    ctx->ClearState();
    ctx->Flush();
    for (ID3D11Buffer *b : bufs)
        b->Release();
    rtv->Release();
    staging->Release();
    rt->Release();
    pipe.release();
    ctx->Release();
    dev->Release();
    return 0;
}
