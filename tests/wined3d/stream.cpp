// (a) Dynamic buffer streaming: per draw, a dynamic vertex buffer is appended to with
// D3D11_MAP_WRITE_NO_OVERWRITE (WRITE_DISCARD when the ring wraps) and a dynamic constant buffer is
// rewritten with WRITE_DISCARD; FRAMES frames x DRAWS draws into a 256x256 render target texture.
// The image is read back through a staging texture every READBACK_EVERY frames (0: only after the
// last frame) and all read-back images are hashed together.
// Usage: stream.exe [FRAMES=20] [DRAWS=64] [READBACK_EVERY=1]
#include "common.h"

static const char *kShader = R"(
cbuffer Draw : register(b0) { float4 offset_scale; float4 tint; };
struct VOut { float4 pos : SV_Position; float4 col : COLOR; };
VOut vs_main(float2 p : POSITION, float4 c : COLOR) {
    VOut o;
    o.pos = float4(p * offset_scale.zw + offset_scale.xy, 0.0, 1.0);
    o.col = c * tint;
    return o;
}
float4 ps_main(VOut i) : SV_Target { return i.col; }
)";

struct Vertex {
    float x, y;
    uint32_t rgba;
};

static const UINT kSize = 256;
static const UINT kRing = 64 * 1024;       // dynamic vertex ring, bytes
static const UINT kQuadVerts = 6;

int main(int argc, char **argv) {
    const int frames = arg_int(argc, argv, 1, 20);
    const int draws = arg_int(argc, argv, 2, 64);
    const int readback_every = arg_int(argc, argv, 3, 1);

    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    create_device(&dev, &ctx);

    ID3DBlob *vsb = compile(kShader, "vs_main", "vs_4_0");
    ID3DBlob *psb = compile(kShader, "ps_main", "ps_4_0");
    ID3D11VertexShader *vs;
    ID3D11PixelShader *ps;
    CHECK(dev->CreateVertexShader(vsb->GetBufferPointer(), vsb->GetBufferSize(), nullptr, &vs));
    CHECK(dev->CreatePixelShader(psb->GetBufferPointer(), psb->GetBufferSize(), nullptr, &ps));
    const D3D11_INPUT_ELEMENT_DESC layout_desc[] = {
        {"POSITION", 0, DXGI_FORMAT_R32G32_FLOAT, 0, 0, D3D11_INPUT_PER_VERTEX_DATA, 0},
        {"COLOR", 0, DXGI_FORMAT_R8G8B8A8_UNORM, 0, 8, D3D11_INPUT_PER_VERTEX_DATA, 0},
    };
    ID3D11InputLayout *layout;
    CHECK(dev->CreateInputLayout(layout_desc, 2, vsb->GetBufferPointer(), vsb->GetBufferSize(),
                                 &layout));

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
    ctx->IASetInputLayout(layout);
    ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_TRIANGLELIST);
    ctx->VSSetShader(vs, nullptr, 0);
    ctx->VSSetConstantBuffers(0, 1, &cb);
    ctx->PSSetShader(ps, nullptr, 0);

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
            // a quad in [0,1]^2 with a colour per corner, placed by the constant buffer
            // (clockwise: D3D's default rasterizer state culls counter-clockwise triangles)
            const float xs[kQuadVerts] = {0, 0, 1, 0, 1, 1}, ys[kQuadVerts] = {0, 1, 0, 1, 1, 0};
            for (UINT k = 0; k < kQuadVerts; ++k) {
                v[k].x = xs[k];
                v[k].y = ys[k];
                v[k].rgba = rng.next() | 0xff000000u;
            }
            ctx->Unmap(vb, 0);

            CHECK(ctx->Map(cb, 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            float *c = static_cast<float *>(m.pData);
            c[0] = (int)(rng.next() % 200) / 100.0f - 1.0f;     // offset x, y in [-1, 1)
            c[1] = (int)(rng.next() % 200) / 100.0f - 1.0f;
            c[2] = (int)(rng.next() % 40 + 4) / 100.0f;         // scale
            c[3] = (int)(rng.next() % 40 + 4) / 100.0f;
            for (int k = 4; k < 8; ++k)
                c[k] = (int)(rng.next() % 16 + 1) / 16.0f;
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
    layout->Release();
    ps->Release();
    vs->Release();
    psb->Release();
    vsb->Release();
    ctx->Release();
    dev->Release();
    return 0;
}
