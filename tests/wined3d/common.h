// Shared helpers for the D3D11 test programs run through Wine's wined3d (tests/test_wined3d.py).
// Every program but swapchain.cpp renders offscreen (no window, no swap chain: Wine's exit
// with one was seen racy; exits.py counts it),
// prints one deterministic "RESULT ..." line and one "TIME ..." line on stdout, and exits 0 only
// when its own checks pass (2: a D3D call failed, 3: a check or a deadline failed).
#pragma once
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <d3d11.h>
#include <d3dcompiler.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CHECK(expr)                                                                       \
    do {                                                                                  \
        HRESULT hr_ = (expr);                                                             \
        if (FAILED(hr_)) {                                                                \
            fprintf(stderr, "%s:%d: %s failed: 0x%08lx\n", __FILE__, __LINE__, #expr,     \
                    (unsigned long)hr_);                                                  \
            fflush(stderr);                                                               \
            ExitProcess(2);                                                               \
        }                                                                                 \
    } while (0)

#define REQUIRE(cond, ...)                                                                \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fprintf(stderr, "\n");                                                        \
            fflush(stderr);                                                               \
            ExitProcess(3);                                                               \
        }                                                                                 \
    } while (0)

static const uint64_t HASH_INIT = 1469598103934665603ULL;   // FNV-1a 64 offset basis

static inline uint64_t hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline double now_ms() {
    static LARGE_INTEGER freq;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return 1000.0 * (double)t.QuadPart / (double)freq.QuadPart;
}

// Deterministic pseudo-random numbers (the same sequence natively and interposed).
struct Rng {
    uint32_t s;
    explicit Rng(uint32_t seed) : s(seed * 2654435761u + 12345u) {}
    uint32_t next() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        return s;
    }
};

static inline int arg_int(int argc, char **argv, int i, int def) {
    return argc > i ? atoi(argv[i]) : def;
}

static inline void create_device(ID3D11Device **dev, ID3D11DeviceContext **ctx) {
    const D3D_FEATURE_LEVEL levels[] = {D3D_FEATURE_LEVEL_11_0, D3D_FEATURE_LEVEL_10_1,
                                        D3D_FEATURE_LEVEL_10_0};
    D3D_FEATURE_LEVEL got;
    CHECK(D3D11CreateDevice(nullptr, D3D_DRIVER_TYPE_HARDWARE, nullptr, 0, levels, 3,
                            D3D11_SDK_VERSION, dev, &got, ctx));
}

static inline ID3DBlob *compile(const char *src, const char *entry, const char *target) {
    ID3DBlob *code = nullptr, *errors = nullptr;
    HRESULT hr = D3DCompile(src, strlen(src), entry, nullptr, nullptr, entry, target, 0, 0,
                            &code, &errors);
    if (FAILED(hr)) {
        fprintf(stderr, "D3DCompile(%s, %s) failed: 0x%08lx\n%s\n", entry, target,
                (unsigned long)hr,
                errors ? static_cast<const char *>(errors->GetBufferPointer()) : "");
        fflush(stderr);
        ExitProcess(2);
    }
    if (errors)
        errors->Release();
    return code;
}

// A vertex of the programs that draw coloured geometry: a 2D position and an RGBA8 colour.
struct Vertex {
    float x, y;
    uint32_t rgba;
};

// Vertex and pixel shaders compiled from `src` (entry points vs_main and ps_main, shader model 4)
// and the input layout of Vertex for the vertex shader (POSITION float2, COLOR rgba8).
struct ColorPipeline {
    ID3D11VertexShader *vs;
    ID3D11PixelShader *ps;
    ID3D11InputLayout *layout;
    // Input assembler (triangle lists of Vertex), both shaders, and `cb` as the vertex shader's
    // constant buffer 0 (nullptr: none).
    void bind(ID3D11DeviceContext *ctx, ID3D11Buffer *cb) const {
        ctx->IASetInputLayout(layout);
        ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_TRIANGLELIST);
        ctx->VSSetShader(vs, nullptr, 0);
        if (cb)
            ctx->VSSetConstantBuffers(0, 1, &cb);
        ctx->PSSetShader(ps, nullptr, 0);
    }
    void release() {
        layout->Release();
        ps->Release();
        vs->Release();
    }
};

static inline ColorPipeline make_color_pipeline(ID3D11Device *dev, const char *src) {
    ColorPipeline p;
    ID3DBlob *vsb = compile(src, "vs_main", "vs_4_0");
    ID3DBlob *psb = compile(src, "ps_main", "ps_4_0");
    CHECK(dev->CreateVertexShader(vsb->GetBufferPointer(), vsb->GetBufferSize(), nullptr, &p.vs));
    CHECK(dev->CreatePixelShader(psb->GetBufferPointer(), psb->GetBufferSize(), nullptr, &p.ps));
    const D3D11_INPUT_ELEMENT_DESC desc[] = {
        {"POSITION", 0, DXGI_FORMAT_R32G32_FLOAT, 0, 0, D3D11_INPUT_PER_VERTEX_DATA, 0},
        {"COLOR", 0, DXGI_FORMAT_R8G8B8A8_UNORM, 0, 8, D3D11_INPUT_PER_VERTEX_DATA, 0},
    };
    CHECK(dev->CreateInputLayout(desc, 2, vsb->GetBufferPointer(), vsb->GetBufferSize(),
                                 &p.layout));
    psb->Release();
    vsb->Release();
    return p;
}

// The quad programs (stream, swapchain): a unit quad per draw, placed, scaled and tinted by a
// 32-byte constant buffer.
static const char *const kQuadShader = R"(
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
static const UINT kQuadVerts = 6;

// The quad in [0,1]^2 with a colour per corner (clockwise: D3D's default rasterizer state
// culls counter-clockwise triangles).
static inline void write_quad(Vertex *v, Rng &rng) {
    const float xs[kQuadVerts] = {0, 0, 1, 0, 1, 1}, ys[kQuadVerts] = {0, 1, 0, 1, 1, 0};
    for (UINT k = 0; k < kQuadVerts; ++k) {
        v[k].x = xs[k];
        v[k].y = ys[k];
        v[k].rgba = rng.next() | 0xff000000u;
    }
}

// The quad's constant buffer: offset in [-1, 1), scale, tint.
static inline void write_quad_constants(float *c, Rng &rng) {
    c[0] = (int)(rng.next() % 200) / 100.0f - 1.0f;
    c[1] = (int)(rng.next() % 200) / 100.0f - 1.0f;
    c[2] = (int)(rng.next() % 40 + 4) / 100.0f;
    c[3] = (int)(rng.next() % 40 + 4) / 100.0f;
    for (int k = 4; k < 8; ++k)
        c[k] = (int)(rng.next() % 16 + 1) / 16.0f;
}

static inline ID3D11Buffer *make_buffer(ID3D11Device *dev, UINT size, D3D11_USAGE usage,
                                        UINT bind, UINT cpu, const void *init = nullptr) {
    D3D11_BUFFER_DESC d = {};
    d.ByteWidth = size;
    d.Usage = usage;
    d.BindFlags = bind;
    d.CPUAccessFlags = cpu;
    D3D11_SUBRESOURCE_DATA sd = {};
    sd.pSysMem = init;
    ID3D11Buffer *b = nullptr;
    CHECK(dev->CreateBuffer(&d, init ? &sd : nullptr, &b));
    return b;
}

static inline ID3D11Texture2D *make_texture(ID3D11Device *dev, UINT w, UINT h,
                                            D3D11_USAGE usage, UINT bind, UINT cpu) {
    D3D11_TEXTURE2D_DESC d = {};
    d.Width = w;
    d.Height = h;
    d.MipLevels = 1;
    d.ArraySize = 1;
    d.Format = DXGI_FORMAT_R8G8B8A8_UNORM;
    d.SampleDesc.Count = 1;
    d.Usage = usage;
    d.BindFlags = bind;
    d.CPUAccessFlags = cpu;
    ID3D11Texture2D *t = nullptr;
    CHECK(dev->CreateTexture2D(&d, nullptr, &t));
    return t;
}

// Copy a 2D RGBA8 texture into a staging texture of the same size, Map(READ), and hash its rows.
// *drawn += the number of texels that differ from texel (0, 0) (a check that draws drew).
static inline uint64_t hash_texture(ID3D11DeviceContext *ctx, ID3D11Texture2D *staging,
                                    ID3D11Texture2D *src, UINT w, UINT h, uint64_t seed,
                                    unsigned long long *drawn) {
    ctx->CopyResource(staging, src);
    D3D11_MAPPED_SUBRESOURCE m;
    CHECK(ctx->Map(staging, 0, D3D11_MAP_READ, 0, &m));
    uint64_t hsh = seed;
    const uint32_t corner = *static_cast<const uint32_t *>(m.pData);
    for (UINT y = 0; y < h; ++y) {
        const uint32_t *row = reinterpret_cast<const uint32_t *>(
            static_cast<const char *>(m.pData) + (size_t)y * m.RowPitch);
        hsh = hash_bytes(hsh, row, w * 4);
        for (UINT x = 0; x < w; ++x)
            *drawn += row[x] != corner;
    }
    ctx->Unmap(staging, 0);
    return hsh;
}

// Where Map put the application's view of a buffer (glcoherent moves it below 4 GiB).
static inline unsigned long long ptr_value(const void *p) {
    return (unsigned long long)(uintptr_t)p;
}
