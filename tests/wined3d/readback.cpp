// (b) Staging readbacks of every kind. Each round writes buffers and a texture on the GPU side
// in every way D3D11 offers without compute shaders (Wine 8's HLSL compiler has none) and reads
// each result back through a staging resource with Map(READ):
//   update     UpdateSubresource (whole buffer)          -> CopyResource to staging
//   copy       CopyResource buffer -> buffer             -> CopyResource to staging
//   update_box UpdateSubresource with a box              -> CopyResource to staging
//   region     CopySubresourceRegion buffer -> buffer    -> CopyResource to staging
//   partial    CopySubresourceRegion buffer -> staging (a range only)
//   upload     staging Map(WRITE) -> CopyResource        -> CopyResource to staging
//   dynamic    dynamic Map(WRITE_DISCARD) -> CopySubresourceRegion -> staging
//   so         stream output of a vertex shader          -> CopyResource to staging
//   texture    UpdateSubresource on textures -> CopyResource + CopySubresourceRegion to staging
// Every read-back byte is checked against a CPU mirror; the hashes go into the RESULT line.
// Usage: readback.exe [ROUNDS=8] [SIZE_KIB=256]
#include "common.h"

static const char *kShader = R"(
cbuffer Round : register(b0) { float4 round_value; };
struct SOut { float4 pos : SV_Position; float4 val : TEXCOORD0; };
SOut so_vs(uint id : SV_VertexID) {
    SOut o;
    float f = (float)id;
    o.pos = float4(f, 0.0, 0.0, 1.0);
    o.val = float4(f, round_value.x, f * 3.0 + round_value.x, 7.0);
    return o;
}
)";

static const UINT kTex = 128;
static const UINT kPoints = 4096;

enum { UPDATE, COPY, UPDATE_BOX, REGION, PARTIAL, UPLOAD, DYNAMIC, SO, TEXTURE, NPATHS };
static const char *kNames[NPATHS] = {"update", "copy", "update_box", "region", "partial",
                                     "upload", "dynamic", "so", "texture"};

static void fill(std::vector<unsigned char> &v, uint32_t seed) {
    Rng rng(seed);
    for (size_t i = 0; i < v.size(); i += 4) {
        uint32_t x = rng.next();
        memcpy(&v[i], &x, 4);
    }
}

static D3D11_BOX range_box(UINT left, UINT right) {
    D3D11_BOX b = {left, 0, 0, right, 1, 1};
    return b;
}

// CopyResource(staging, buf), Map(READ), compare with the mirror, return the hash.
static uint64_t read_check(ID3D11DeviceContext *ctx, ID3D11Buffer *stage, ID3D11Buffer *buf,
                           const std::vector<unsigned char> &mirror, uint64_t h, const char *what,
                           int round) {
    ctx->CopyResource(stage, buf);
    D3D11_MAPPED_SUBRESOURCE m;
    CHECK(ctx->Map(stage, 0, D3D11_MAP_READ, 0, &m));
    const bool same = memcmp(m.pData, mirror.data(), mirror.size()) == 0;
    h = hash_bytes(h, m.pData, mirror.size());
    ctx->Unmap(stage, 0);
    REQUIRE(same, "%s: read-back bytes differ from the expected ones in round %d", what, round);
    return h;
}

int main(int argc, char **argv) {
    const int rounds = arg_int(argc, argv, 1, 8);
    const UINT size = (UINT)arg_int(argc, argv, 2, 256) * 1024;

    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    create_device(&dev, &ctx);

    const UINT vb = D3D11_BIND_VERTEX_BUFFER;
    ID3D11Buffer *src = make_buffer(dev, size, D3D11_USAGE_DEFAULT, vb, 0);
    ID3D11Buffer *dst = make_buffer(dev, size, D3D11_USAGE_DEFAULT, vb, 0);
    ID3D11Buffer *stage = make_buffer(dev, size, D3D11_USAGE_STAGING, 0, D3D11_CPU_ACCESS_READ);
    ID3D11Buffer *up = make_buffer(dev, size, D3D11_USAGE_STAGING, 0, D3D11_CPU_ACCESS_WRITE);
    ID3D11Buffer *dyn = make_buffer(dev, size, D3D11_USAGE_DYNAMIC, vb, D3D11_CPU_ACCESS_WRITE);

    // stream output: a vertex shader run over kPoints points, its TEXCOORD0 captured
    ID3DBlob *vsb = compile(kShader, "so_vs", "vs_4_0");
    ID3D11VertexShader *vs;
    CHECK(dev->CreateVertexShader(vsb->GetBufferPointer(), vsb->GetBufferSize(), nullptr, &vs));
    const D3D11_SO_DECLARATION_ENTRY so_decl[] = {{0, "TEXCOORD", 0, 0, 4, 0}};
    const UINT so_stride = 16;
    ID3D11GeometryShader *gs;
    CHECK(dev->CreateGeometryShaderWithStreamOutput(vsb->GetBufferPointer(), vsb->GetBufferSize(),
                                                    so_decl, 1, &so_stride, 1,
                                                    D3D11_SO_NO_RASTERIZED_STREAM, nullptr, &gs));
    const UINT so_size = kPoints * so_stride;
    ID3D11Buffer *so_buf = make_buffer(dev, so_size, D3D11_USAGE_DEFAULT,
                                       D3D11_BIND_STREAM_OUTPUT | vb, 0);
    ID3D11Buffer *so_stage = make_buffer(dev, so_size, D3D11_USAGE_STAGING, 0,
                                         D3D11_CPU_ACCESS_READ);
    ID3D11Buffer *cb = make_buffer(dev, 16, D3D11_USAGE_DYNAMIC, D3D11_BIND_CONSTANT_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);

    ID3D11Texture2D *tex_a = make_texture(dev, kTex, kTex, D3D11_USAGE_DEFAULT,
                                          D3D11_BIND_SHADER_RESOURCE, 0);
    ID3D11Texture2D *tex_b = make_texture(dev, kTex, kTex, D3D11_USAGE_DEFAULT,
                                          D3D11_BIND_SHADER_RESOURCE, 0);
    ID3D11Texture2D *tex_stage = make_texture(dev, kTex, kTex, D3D11_USAGE_STAGING, 0,
                                              D3D11_CPU_ACCESS_READ);

    std::vector<unsigned char> m_src(size), m_dst(size), pat(size), so_expect(so_size);
    std::vector<unsigned char> tex_expect(kTex * kTex * 4), tex_pat(kTex * kTex * 4);
    uint64_t h[NPATHS];
    for (int i = 0; i < NPATHS; ++i)
        h[i] = HASH_INIT;

    double t0 = now_ms();
    for (int r = 0; r < rounds; ++r) {
        if (r == 1)
            t0 = now_ms();      // round 0 pays for first-use allocations
        Rng rng(1000u + (uint32_t)r);
        const UINT q = size / 4;

        // update: the whole source buffer
        fill(m_src, 1u + (uint32_t)r);
        ctx->UpdateSubresource(src, 0, nullptr, m_src.data(), 0, 0);
        h[UPDATE] = read_check(ctx, stage, src, m_src, h[UPDATE], "update", r);

        // copy: buffer to buffer
        ctx->CopyResource(dst, src);
        m_dst = m_src;
        h[COPY] = read_check(ctx, stage, dst, m_dst, h[COPY], "copy", r);

        // update_box: a range of dst
        {
            const UINT left = 4 * (rng.next() % q / 2), len = 4 * (1 + rng.next() % (q / 2));
            fill(pat, 2000u + (uint32_t)r);
            D3D11_BOX box = range_box(left, left + len);
            ctx->UpdateSubresource(dst, 0, &box, pat.data(), 0, 0);
            memcpy(&m_dst[left], pat.data(), len);
            h[UPDATE_BOX] = read_check(ctx, stage, dst, m_dst, h[UPDATE_BOX], "update_box", r);
        }
        // region: a range of src to another offset of dst
        {
            const UINT len = 4 * (1 + rng.next() % (q / 2));
            const UINT from = 4 * (rng.next() % (q - len / 4 + 1));
            const UINT to = 4 * (rng.next() % (q - len / 4 + 1));
            D3D11_BOX box = range_box(from, from + len);
            ctx->CopySubresourceRegion(dst, 0, to, 0, 0, src, 0, &box);
            memmove(&m_dst[to], &m_src[from], len);
            h[REGION] = read_check(ctx, stage, dst, m_dst, h[REGION], "region", r);
        }
        // partial: a range of dst straight into the staging buffer, at an offset
        {
            const UINT len = 4 * (1 + rng.next() % (q / 2));
            const UINT from = 4 * (rng.next() % (q - len / 4 + 1));
            const UINT to = 4 * (rng.next() % (q - len / 4 + 1));
            D3D11_BOX box = range_box(from, from + len);
            ctx->CopySubresourceRegion(stage, 0, to, 0, 0, dst, 0, &box);
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(stage, 0, D3D11_MAP_READ, 0, &m));
            const bool same = memcmp(static_cast<char *>(m.pData) + to, &m_dst[from], len) == 0;
            h[PARTIAL] = hash_bytes(h[PARTIAL], static_cast<char *>(m.pData) + to, len);
            ctx->Unmap(stage, 0);
            REQUIRE(same, "partial: read-back bytes differ in round %d", r);
        }
        // upload: a staging buffer written by the CPU, copied to dst
        {
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(up, 0, D3D11_MAP_WRITE, 0, &m));
            fill(m_dst, 3000u + (uint32_t)r);
            memcpy(m.pData, m_dst.data(), size);
            ctx->Unmap(up, 0);
            ctx->CopyResource(dst, up);
            h[UPLOAD] = read_check(ctx, stage, dst, m_dst, h[UPLOAD], "upload", r);
        }
        // dynamic: a dynamic buffer written with WRITE_DISCARD, a range of it copied to dst
        {
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(dyn, 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            fill(pat, 4000u + (uint32_t)r);
            memcpy(m.pData, pat.data(), size);
            ctx->Unmap(dyn, 0);
            const UINT len = 4 * (1 + rng.next() % (q / 2));
            const UINT from = 4 * (rng.next() % (q - len / 4 + 1));
            const UINT to = 4 * (rng.next() % (q - len / 4 + 1));
            D3D11_BOX box = range_box(from, from + len);
            ctx->CopySubresourceRegion(dst, 0, to, 0, 0, dyn, 0, &box);
            memcpy(&m_dst[to], &pat[from], len);
            h[DYNAMIC] = read_check(ctx, stage, dst, m_dst, h[DYNAMIC], "dynamic", r);
        }
        // so: kPoints vertices captured by stream output
        {
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(cb, 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            const float rv[4] = {(float)(r * 10 + 1), 0, 0, 0};
            memcpy(m.pData, rv, sizeof rv);
            ctx->Unmap(cb, 0);
            const UINT offset = 0;
            ctx->IASetInputLayout(nullptr);
            ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_POINTLIST);
            ctx->VSSetShader(vs, nullptr, 0);
            ctx->VSSetConstantBuffers(0, 1, &cb);
            ctx->GSSetShader(gs, nullptr, 0);
            ctx->PSSetShader(nullptr, nullptr, 0);
            ctx->SOSetTargets(1, &so_buf, &offset);
            ctx->Draw(kPoints, 0);
            ID3D11Buffer *none = nullptr;
            ctx->SOSetTargets(1, &none, &offset);
            for (UINT i = 0; i < kPoints; ++i) {
                const float v[4] = {(float)i, rv[0], (float)i * 3.0f + rv[0], 7.0f};
                memcpy(&so_expect[i * 16], v, 16);
            }
            h[SO] = read_check(ctx, so_stage, so_buf, so_expect, h[SO], "so", r);
        }
        // texture: UpdateSubresource on two textures, the whole of one and a region of the other
        // copied into the staging texture
        {
            fill(tex_expect, 5000u + (uint32_t)r);
            fill(tex_pat, 6000u + (uint32_t)r);
            ctx->UpdateSubresource(tex_a, 0, nullptr, tex_expect.data(), kTex * 4, 0);
            ctx->UpdateSubresource(tex_b, 0, nullptr, tex_pat.data(), kTex * 4, 0);
            ctx->CopyResource(tex_stage, tex_a);
            const UINT x0 = rng.next() % 64, y0 = rng.next() % 64, w = 1 + rng.next() % 64,
                       hh = 1 + rng.next() % 64, dx = rng.next() % 64, dy = rng.next() % 64;
            D3D11_BOX box = {x0, y0, 0, x0 + w, y0 + hh, 1};
            ctx->CopySubresourceRegion(tex_stage, 0, dx, dy, 0, tex_b, 0, &box);
            for (UINT y = 0; y < hh; ++y)
                memcpy(&tex_expect[((dy + y) * kTex + dx) * 4],
                       &tex_pat[((y0 + y) * kTex + x0) * 4], w * 4);
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(tex_stage, 0, D3D11_MAP_READ, 0, &m));
            bool same = true;
            for (UINT y = 0; y < kTex; ++y) {
                const char *row = static_cast<const char *>(m.pData) + (size_t)y * m.RowPitch;
                same = same && memcmp(row, &tex_expect[y * kTex * 4], kTex * 4) == 0;
                h[TEXTURE] = hash_bytes(h[TEXTURE], row, kTex * 4);
            }
            ctx->Unmap(tex_stage, 0);
            REQUIRE(same, "texture: read-back texels differ in round %d", r);
        }
    }
    const double elapsed = now_ms() - t0;
    const int timed = rounds > 1 ? rounds - 1 : 1;

    printf("RESULT readback rounds=%d size_kib=%u", rounds, size / 1024);
    for (int i = 0; i < NPATHS; ++i)
        printf(" %s=%016llx", kNames[i], (unsigned long long)h[i]);
    printf("\n");
    printf("TIME ms_per_round=%.3f timed_ms=%.1f\n", elapsed / timed, elapsed);
    fflush(stdout);

    ctx->ClearState();
    ctx->Flush();
    ID3D11DeviceChild *all[] = {src, dst, stage, up, dyn, vs, gs, so_buf, so_stage, cb,
                                tex_a, tex_b, tex_stage};
    for (ID3D11DeviceChild *c : all)
        c->Release();
    vsb->Release();
    ctx->Release();
    dev->Release();
    return 0;
}
