// (c) Query polling with deadlines. Each round issues queries of every kind wined3d offers around
// draws with known outcomes and polls each with GetData in a loop until its result arrives or a
// deadline passes (exit 3 naming the query):
//   EVENT                      after the round's work
//   (one draw per query: queries sharing a GL target must not overlap)
//   OCCLUSION                  a pixel-aligned W x H rectangle: exactly W*H samples
//   OCCLUSION_PREDICATE        the same rectangle (TRUE) and one outside the viewport (FALSE)
//   TIMESTAMP_DISJOINT + 2 TIMESTAMPs   checked for order, not printed (not deterministic)
//   PIPELINE_STATISTICS        vertices and primitives assembled by the rectangle's draw
//   SO_STATISTICS(_STREAM0)    N points through stream output into a buffer of CAP points
//   SO_OVERFLOW_PREDICATE(_STREAM0)  TRUE exactly when N > CAP
// Even rounds poll with GetData(flags 0); odd rounds call Flush() once and then poll with
// D3D11_ASYNC_GETDATA_DONOTFLUSH in a tight loop, so that the application makes no call that
// could submit work while it waits (through glcoherent, a result written into a coherent query
// buffer must then arrive without GL traffic); TIME reports the longest such wait.
// The deterministic values of every round are checked and hashed into the RESULT line.
// Usage: queries.exe [ROUNDS=20] [DEADLINE_MS=10000]
#include "common.h"

static const char *kShader = R"(
float4 rect_vs(float2 p : POSITION) : SV_Position { return float4(p, 0.5, 1.0); }
float4 rect_ps(float4 pos : SV_Position) : SV_Target { return float4(1.0, 0.5, 0.25, 1.0); }
struct SOut { float4 pos : SV_Position; float4 val : TEXCOORD0; };
SOut so_vs(uint id : SV_VertexID) {
    SOut o;
    o.pos = float4((float)id, 0.0, 0.0, 1.0);
    o.val = float4((float)id, 1.0, 2.0, 3.0);
    return o;
}
)";

static const UINT kSize = 256;
static const UINT kSoCap = 64;        // stream output buffer capacity, points

static double g_deadline_ms;
static long long g_polls;
static bool g_donotflush;           // this round polls with DONOTFLUSH
static double g_donotflush_max_ms;  // longest DONOTFLUSH wait

// GetData in a loop until the result is there; a deadline bounds the wait.
static void poll(ID3D11DeviceContext *ctx, ID3D11Query *q, void *data, UINT size,
                 const char *name, int round) {
    D3D11_QUERY_DESC desc;
    q->GetDesc(&desc);
    REQUIRE(q->GetDataSize() <= size, "%s: GetDataSize %u > %u", name, q->GetDataSize(), size);
    const double start = now_ms(), deadline = start + g_deadline_ms;
    const UINT flags = g_donotflush ? D3D11_ASYNC_GETDATA_DONOTFLUSH : 0;
    for (;;) {
        HRESULT hr = ctx->GetData(q, data, q->GetDataSize(), flags);
        ++g_polls;
        if (hr == S_OK) {
            if (g_donotflush && now_ms() - start > g_donotflush_max_ms)
                g_donotflush_max_ms = now_ms() - start;
            return;
        }
        CHECK(hr);
        REQUIRE(now_ms() < deadline, "%s: no result within %.0f ms in round %d (GetData 0x%lx, "
                "GetDataSize %u)", name, g_deadline_ms, round, (unsigned long)hr,
                q->GetDataSize());
    }
}

static ID3D11Query *make_query(ID3D11Device *dev, D3D11_QUERY type) {
    D3D11_QUERY_DESC d = {type, 0};
    ID3D11Query *q;
    CHECK(dev->CreateQuery(&d, &q));
    return q;
}

// a query type wined3d may not offer: nullptr (and the RESULT line says so) when it does not
static ID3D11Query *make_optional_query(ID3D11Device *dev, D3D11_QUERY type) {
    D3D11_QUERY_DESC d = {type, 0};
    ID3D11Query *q = nullptr;
    return SUCCEEDED(dev->CreateQuery(&d, &q)) ? q : nullptr;
}

// a rectangle in pixels [x0, x1) x [y0, y1) of the kSize x kSize target, as two triangles in
// NDC, written to the dynamic vertex buffer at vertex `first` (DISCARD for the first rectangle
// of a round, NO_OVERWRITE after it)
static void set_rect(ID3D11DeviceContext *ctx, ID3D11Buffer *vb, UINT first, int x0, int y0,
                     int x1, int y1) {
    D3D11_MAPPED_SUBRESOURCE m;
    CHECK(ctx->Map(vb, 0, first ? D3D11_MAP_WRITE_NO_OVERWRITE : D3D11_MAP_WRITE_DISCARD, 0, &m));
    float *v = static_cast<float *>(m.pData) + 2 * first;
    const float l = 2.0f * x0 / kSize - 1.0f, t = 1.0f - 2.0f * y0 / kSize;
    const float r = 2.0f * x1 / kSize - 1.0f, b = 1.0f - 2.0f * y1 / kSize;
    const float xy[12] = {l, t, r, t, l, b, l, b, r, t, r, b};
    memcpy(v, xy, sizeof xy);
    ctx->Unmap(vb, 0);
}

int main(int argc, char **argv) {
    const int rounds = arg_int(argc, argv, 1, 20);
    g_deadline_ms = arg_int(argc, argv, 2, 10000);

    ID3D11Device *dev;
    ID3D11DeviceContext *ctx;
    create_device(&dev, &ctx);

    ID3DBlob *vsb = compile(kShader, "rect_vs", "vs_4_0");
    ID3DBlob *psb = compile(kShader, "rect_ps", "ps_4_0");
    ID3DBlob *sob = compile(kShader, "so_vs", "vs_4_0");
    ID3D11VertexShader *vs, *so_vs;
    ID3D11PixelShader *ps;
    ID3D11GeometryShader *gs;
    CHECK(dev->CreateVertexShader(vsb->GetBufferPointer(), vsb->GetBufferSize(), nullptr, &vs));
    CHECK(dev->CreatePixelShader(psb->GetBufferPointer(), psb->GetBufferSize(), nullptr, &ps));
    CHECK(dev->CreateVertexShader(sob->GetBufferPointer(), sob->GetBufferSize(), nullptr, &so_vs));
    const D3D11_SO_DECLARATION_ENTRY so_decl[] = {{0, "TEXCOORD", 0, 0, 4, 0}};
    const UINT so_stride = 16;
    CHECK(dev->CreateGeometryShaderWithStreamOutput(sob->GetBufferPointer(), sob->GetBufferSize(),
                                                    so_decl, 1, &so_stride, 1,
                                                    D3D11_SO_NO_RASTERIZED_STREAM, nullptr, &gs));
    ID3D11Buffer *so_buf = make_buffer(dev, kSoCap * so_stride, D3D11_USAGE_DEFAULT,
                                       D3D11_BIND_STREAM_OUTPUT, 0);
    ID3D11Buffer *vb = make_buffer(dev, 12 * 8, D3D11_USAGE_DYNAMIC, D3D11_BIND_VERTEX_BUFFER,
                                   D3D11_CPU_ACCESS_WRITE);
    const D3D11_INPUT_ELEMENT_DESC layout_desc[] = {
        {"POSITION", 0, DXGI_FORMAT_R32G32_FLOAT, 0, 0, D3D11_INPUT_PER_VERTEX_DATA, 0}};
    ID3D11InputLayout *layout;
    CHECK(dev->CreateInputLayout(layout_desc, 1, vsb->GetBufferPointer(), vsb->GetBufferSize(),
                                 &layout));
    ID3D11Texture2D *rt = make_texture(dev, kSize, kSize, D3D11_USAGE_DEFAULT,
                                       D3D11_BIND_RENDER_TARGET, 0);
    ID3D11RenderTargetView *rtv;
    CHECK(dev->CreateRenderTargetView(rt, nullptr, &rtv));

    ID3D11Query *event = make_query(dev, D3D11_QUERY_EVENT);
    ID3D11Query *occ = make_query(dev, D3D11_QUERY_OCCLUSION);
    ID3D11Query *pred_on = make_query(dev, D3D11_QUERY_OCCLUSION_PREDICATE);
    ID3D11Query *pred_off = make_query(dev, D3D11_QUERY_OCCLUSION_PREDICATE);
    ID3D11Query *disjoint = make_query(dev, D3D11_QUERY_TIMESTAMP_DISJOINT);
    ID3D11Query *ts0 = make_query(dev, D3D11_QUERY_TIMESTAMP);
    ID3D11Query *ts1 = make_query(dev, D3D11_QUERY_TIMESTAMP);
    ID3D11Query *stats = make_query(dev, D3D11_QUERY_PIPELINE_STATISTICS);
    ID3D11Query *so_stats = make_optional_query(dev, D3D11_QUERY_SO_STATISTICS);
    ID3D11Query *so_stats0 = make_query(dev, D3D11_QUERY_SO_STATISTICS_STREAM0);
    ID3D11Query *overflow = make_optional_query(dev, D3D11_QUERY_SO_OVERFLOW_PREDICATE);
    ID3D11Query *overflow0 = make_optional_query(dev,
                                                 D3D11_QUERY_SO_OVERFLOW_PREDICATE_STREAM0);

    D3D11_VIEWPORT vp = {0, 0, (float)kSize, (float)kSize, 0, 1};
    uint64_t h = HASH_INIT;
    unsigned long long occlusion_total = 0, so_written_total = 0;
    double t0 = now_ms();
    for (int r = 0; r < rounds; ++r) {
        if (r == 1)
            t0 = now_ms();
        Rng rng(7u + (uint32_t)r);
        const int x0 = rng.next() % 128, y0 = rng.next() % 128;
        const int w = 1 + rng.next() % 128, hgt = 1 + rng.next() % 128;
        const UINT points = 1 + rng.next() % (2 * kSoCap);   // overflows about half the time

        ctx->Begin(disjoint);
        ctx->End(ts0);

        // the rectangle: occlusion, predicate (visible), pipeline statistics
        ctx->RSSetViewports(1, &vp);
        ctx->OMSetRenderTargets(1, &rtv, nullptr);
        const UINT stride = 8, zero = 0;
        ctx->IASetInputLayout(layout);
        ctx->IASetVertexBuffers(0, 1, &vb, &stride, &zero);
        ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_TRIANGLELIST);
        ctx->VSSetShader(vs, nullptr, 0);
        ctx->GSSetShader(nullptr, nullptr, 0);
        ctx->PSSetShader(ps, nullptr, 0);
        const float clear[4] = {0, 0, 0, 0};
        ctx->ClearRenderTargetView(rtv, clear);
        set_rect(ctx, vb, 0, x0, y0, x0 + w, y0 + hgt);
        // one draw per query: GL has one active query per target, so queries of kinds that
        // share a GL target (occlusion, predicate) must not overlap
        ctx->Begin(occ);
        ctx->Draw(6, 0);
        ctx->End(occ);
        ctx->Begin(pred_on);
        ctx->Draw(6, 0);
        ctx->End(pred_on);
        ctx->Begin(stats);
        ctx->Draw(6, 0);
        ctx->End(stats);
        // a rectangle outside the target: predicate FALSE
        set_rect(ctx, vb, 6, kSize + 10, kSize + 10, kSize + 20, kSize + 20);
        ctx->Begin(pred_off);
        ctx->Draw(6, 6);
        ctx->End(pred_off);

        // stream output of `points` points into a buffer of kSoCap
        const UINT offset = 0;
        ctx->IASetInputLayout(nullptr);
        ctx->VSSetShader(so_vs, nullptr, 0);
        ctx->GSSetShader(gs, nullptr, 0);
        ctx->PSSetShader(nullptr, nullptr, 0);
        ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_POINTLIST);
        ctx->SOSetTargets(1, &so_buf, &offset);
        ID3D11Query *so_queries[] = {so_stats, so_stats0, overflow, overflow0};
        for (ID3D11Query *q : so_queries) {
            if (!q)
                continue;
            ctx->SOSetTargets(1, &so_buf, &offset);     // restart at the buffer's beginning
            ctx->Begin(q);
            ctx->Draw(points, 0);
            ctx->End(q);
        }
        ID3D11Buffer *none = nullptr;
        ctx->SOSetTargets(1, &none, &offset);

        ctx->End(ts1);
        ctx->End(disjoint);
        ctx->End(event);

        // poll, in the order an application waiting for its oldest work would
        g_donotflush = r % 2 == 1;
        if (g_donotflush)
            ctx->Flush();
        BOOL done = FALSE;
        poll(ctx, event, &done, sizeof done, "EVENT", r);
        REQUIRE(done, "EVENT returned FALSE");
        UINT64 samples = 0;
        poll(ctx, occ, &samples, sizeof samples, "OCCLUSION", r);
        REQUIRE(samples == (UINT64)w * hgt, "OCCLUSION %llu, expected %d in round %d",
                (unsigned long long)samples, w * hgt, r);
        UINT64 p_on = 0, p_off = 0;    // Wine 8 wants 8 bytes for predicates (GetDataSize says)
        poll(ctx, pred_on, &p_on, sizeof p_on, "OCCLUSION_PREDICATE(visible)", r);
        poll(ctx, pred_off, &p_off, sizeof p_off, "OCCLUSION_PREDICATE(hidden)", r);
        REQUIRE((p_on & 0xffffffff) && !(p_off & 0xffffffff), "predicates %llx %llx",
                (unsigned long long)p_on, (unsigned long long)p_off);
        D3D11_QUERY_DATA_PIPELINE_STATISTICS ps_data = {};
        poll(ctx, stats, &ps_data, sizeof ps_data, "PIPELINE_STATISTICS", r);
        REQUIRE(ps_data.IAVertices == 6 && ps_data.IAPrimitives == 2,
                "PIPELINE_STATISTICS IAVertices %llu IAPrimitives %llu in round %d",
                (unsigned long long)ps_data.IAVertices, (unsigned long long)ps_data.IAPrimitives,
                r);
        D3D11_QUERY_DATA_SO_STATISTICS so = {}, so0 = {};
        poll(ctx, so_stats0, &so0, sizeof so0, "SO_STATISTICS_STREAM0", r);
        if (so_stats)
            poll(ctx, so_stats, &so, sizeof so, "SO_STATISTICS", r);
        else
            so = so0;
        const UINT64 written = points < kSoCap ? points : kSoCap;
        REQUIRE(so.NumPrimitivesWritten == written && so.PrimitivesStorageNeeded == points,
                "SO_STATISTICS written %llu needed %llu, expected %llu %u in round %d",
                (unsigned long long)so.NumPrimitivesWritten,
                (unsigned long long)so.PrimitivesStorageNeeded, (unsigned long long)written,
                points, r);
        REQUIRE(so0.NumPrimitivesWritten == written && so0.PrimitivesStorageNeeded == points,
                "SO_STATISTICS_STREAM0 written %llu needed %llu in round %d",
                (unsigned long long)so0.NumPrimitivesWritten,
                (unsigned long long)so0.PrimitivesStorageNeeded, r);
        const bool over = points > kSoCap;
        UINT64 of = over, of0 = over;
        if (overflow)
            poll(ctx, overflow, &of, sizeof of, "SO_OVERFLOW_PREDICATE", r);
        if (overflow0)
            poll(ctx, overflow0, &of0, sizeof of0, "SO_OVERFLOW_PREDICATE_STREAM0", r);
        REQUIRE(!!(of & 0xffffffff) == over && !!(of0 & 0xffffffff) == over,
                "SO_OVERFLOW_PREDICATE %llx %llx, expected %d in round %d",
                (unsigned long long)of, (unsigned long long)of0, over, r);
        UINT64 t_begin = 0, t_end = 0;
        D3D11_QUERY_DATA_TIMESTAMP_DISJOINT dj = {};
        poll(ctx, disjoint, &dj, sizeof dj, "TIMESTAMP_DISJOINT", r);
        poll(ctx, ts0, &t_begin, sizeof t_begin, "TIMESTAMP(begin)", r);
        poll(ctx, ts1, &t_end, sizeof t_end, "TIMESTAMP(end)", r);
        REQUIRE(dj.Frequency > 0 && t_end >= t_begin, "timestamps %llu %llu frequency %llu",
                (unsigned long long)t_begin, (unsigned long long)t_end,
                (unsigned long long)dj.Frequency);

        const UINT64 values[] = {samples, p_on & 1, p_off & 1, ps_data.IAVertices,
                                 ps_data.IAPrimitives, so.NumPrimitivesWritten,
                                 so.PrimitivesStorageNeeded, so0.NumPrimitivesWritten,
                                 so0.PrimitivesStorageNeeded, of & 1, of0 & 1};
        h = hash_bytes(h, values, sizeof values);
        occlusion_total += samples;
        so_written_total += so.NumPrimitivesWritten;
    }
    const double elapsed = now_ms() - t0;
    const int timed = rounds > 1 ? rounds - 1 : 1;

    printf("RESULT queries rounds=%d occlusion_samples=%llu so_written=%llu hash=%016llx "
           "so_statistics=%s so_overflow=%s so_overflow_stream0=%s\n",
           rounds, occlusion_total, so_written_total, (unsigned long long)h,
           so_stats ? "yes" : "unsupported", overflow ? "yes" : "unsupported",
           overflow0 ? "yes" : "unsupported");
    printf("TIME ms_per_round=%.3f timed_ms=%.1f polls=%lld donotflush_max_wait_ms=%.1f\n",
           elapsed / timed, elapsed, g_polls, g_donotflush_max_ms);
    fflush(stdout);

    ctx->ClearState();
    ctx->Flush();
    ID3D11DeviceChild *all[] = {event, occ, pred_on, pred_off, disjoint, ts0, ts1, stats,
                                so_stats, so_stats0, overflow, overflow0, rtv, rt, layout, vb, so_buf,
                                gs, so_vs, ps, vs};
    for (ID3D11DeviceChild *c : all)
        if (c)
            c->Release();
    sob->Release();
    psb->Release();
    vsb->Release();
    ctx->Release();
    dev->Release();
    return 0;
}
