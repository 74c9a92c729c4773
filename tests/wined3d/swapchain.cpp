// (e) A window and a swap chain, as a game has: FRAMES frames of DRAWS draws from a dynamic vertex
// buffer (WRITE_DISCARD on the first draw of a frame, NO_OVERWRITE after) with a dynamic constant
// buffer, each frame Present()ed, the back buffer of the last frame read back and hashed. Then
// the program releases everything and returns from main, so that Wine's exit path (the window,
// the swap chain's GL context on wined3d's command thread, libGLX's destructors) runs as for a
// game that quits. tests/wined3d/exits.py runs it many times natively and through glcoherent and
// counts the runs that did not end with this program's own exit status.
// Usage: swapchain.exe [FRAMES=30] [DRAWS=32]
#include "common.h"

static const UINT kSize = 128;

static LRESULT CALLBACK wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
    return DefWindowProcA(hwnd, msg, wp, lp);
}

static HWND make_window() {
    WNDCLASSA wc = {};
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleA(nullptr);
    wc.lpszClassName = "glcoherent_swapchain";
    REQUIRE(RegisterClassA(&wc), "RegisterClass");
    RECT r = {0, 0, (LONG)kSize, (LONG)kSize};
    AdjustWindowRect(&r, WS_OVERLAPPEDWINDOW, FALSE);
    HWND hwnd = CreateWindowA(wc.lpszClassName, "swapchain", WS_OVERLAPPEDWINDOW, 0, 0,
                              r.right - r.left, r.bottom - r.top, nullptr, nullptr,
                              wc.hInstance, nullptr);
    REQUIRE(hwnd != nullptr, "CreateWindow");
    ShowWindow(hwnd, SW_SHOW);
    return hwnd;
}

static void pump() {
    MSG msg;
    while (PeekMessageA(&msg, nullptr, 0, 0, PM_REMOVE)) {
        TranslateMessage(&msg);
        DispatchMessageA(&msg);
    }
}

int main(int argc, char **argv) {
    const int frames = arg_int(argc, argv, 1, 30);
    const int draws = arg_int(argc, argv, 2, 32);

    HWND hwnd = make_window();
    DXGI_SWAP_CHAIN_DESC sd = {};
    sd.BufferDesc.Width = kSize;
    sd.BufferDesc.Height = kSize;
    sd.BufferDesc.Format = DXGI_FORMAT_R8G8B8A8_UNORM;
    sd.SampleDesc.Count = 1;
    sd.BufferUsage = DXGI_USAGE_RENDER_TARGET_OUTPUT;
    sd.BufferCount = 2;
    sd.OutputWindow = hwnd;
    sd.Windowed = TRUE;
    sd.SwapEffect = DXGI_SWAP_EFFECT_DISCARD;
    const D3D_FEATURE_LEVEL levels[] = {D3D_FEATURE_LEVEL_11_0, D3D_FEATURE_LEVEL_10_1,
                                        D3D_FEATURE_LEVEL_10_0};
    D3D_FEATURE_LEVEL got;
    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    IDXGISwapChain *chain;
    CHECK(D3D11CreateDeviceAndSwapChain(nullptr, D3D_DRIVER_TYPE_HARDWARE, nullptr, 0, levels, 3,
                                        D3D11_SDK_VERSION, &sd, &chain, &dev, &got, &ctx));

    ColorPipeline pipe = make_color_pipeline(dev, kQuadShader);
    const UINT ring = (UINT)draws * kQuadVerts * sizeof(Vertex);
    ID3D11Buffer *vb = make_buffer(dev, ring, D3D11_USAGE_DYNAMIC, D3D11_BIND_VERTEX_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);
    ID3D11Buffer *cb = make_buffer(dev, 32, D3D11_USAGE_DYNAMIC, D3D11_BIND_CONSTANT_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);
    ID3D11Texture2D *back;
    CHECK(chain->GetBuffer(0, __uuidof(ID3D11Texture2D), reinterpret_cast<void **>(&back)));
    ID3D11RenderTargetView *rtv;
    CHECK(dev->CreateRenderTargetView(back, nullptr, &rtv));
    ID3D11Texture2D *staging = make_texture(dev, kSize, kSize, D3D11_USAGE_STAGING, 0,
                                            D3D11_CPU_ACCESS_READ);

    D3D11_VIEWPORT vp = {0, 0, (float)kSize, (float)kSize, 0, 1};
    pipe.bind(ctx, cb);

    uint64_t image_hash = HASH_INIT;
    unsigned long long drawn = 0, lowest_ptr = ~0ULL;
    double t0 = now_ms();
    for (int f = 0; f < frames; ++f) {
        if (f == 1)
            t0 = now_ms();
        pump();
        ctx->OMSetRenderTargets(1, &rtv, nullptr);   // DISCARD unbinds the back buffer
        ctx->RSSetViewports(1, &vp);
        const float clear[4] = {(f % 7) / 7.0f, (f % 5) / 5.0f, (f % 3) / 3.0f, 1.0f};
        ctx->ClearRenderTargetView(rtv, clear);
        for (int d = 0; d < draws; ++d) {
            Rng rng((uint32_t)(f * draws + d));
            D3D11_MAPPED_SUBRESOURCE m;
            CHECK(ctx->Map(vb, 0, d ? D3D11_MAP_WRITE_NO_OVERWRITE : D3D11_MAP_WRITE_DISCARD, 0,
                           &m));
            if (ptr_value(m.pData) < lowest_ptr)
                lowest_ptr = ptr_value(m.pData);
            const UINT at = (UINT)d * kQuadVerts * sizeof(Vertex);
            Vertex *v = reinterpret_cast<Vertex *>(static_cast<char *>(m.pData) + at);
            write_quad(v, rng);
            ctx->Unmap(vb, 0);
            CHECK(ctx->Map(cb, 0, D3D11_MAP_WRITE_DISCARD, 0, &m));
            write_quad_constants(static_cast<float *>(m.pData), rng);
            ctx->Unmap(cb, 0);
            const UINT stride = sizeof(Vertex);
            ctx->IASetVertexBuffers(0, 1, &vb, &stride, &at);
            ctx->Draw(kQuadVerts, 0);
        }
        if (f == frames - 1)   // the last frame, before Present discards it
            image_hash = hash_texture(ctx, staging, back, kSize, kSize, image_hash, &drawn);
        CHECK(chain->Present(0, 0));
    }
    const double elapsed = now_ms() - t0;
    REQUIRE(drawn > 0, "nothing drawn");
    printf("RESULT swapchain frames=%d draws=%d drawn=%llu hash=%016llx\n", frames, draws, drawn,
           (unsigned long long)image_hash);
    printf("TIME ms_per_frame=%.3f lowest_map=0x%llx\n", elapsed / (frames > 1 ? frames - 1 : 1),
           lowest_ptr);
    fflush(stdout);

    ctx->ClearState();
    ctx->Flush();
    staging->Release();
    rtv->Release();
    back->Release();
    cb->Release();
    vb->Release();
    pipe.release();
    chain->Release();
    ctx->Release();
    dev->Release();
    DestroyWindow(hwnd);
    return 0;
}
