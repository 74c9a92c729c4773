#version 450 core
// Mandelbrot iteration counts in Q12 fixed point (integer math: the CPU can repeat it exactly).
// Parameters come from a persistent coherent buffer the CPU writes; results go to a persistent
// coherent READ buffer the CPU checks after a fence. The frame id sits in the high 16 bits of
// every result, so a result left over from an older dispatch cannot pass for a new one.
layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, binding = 0) readonly buffer Params {
    ivec4 view;   // x0, y0 (Q12), step per pixel (Q12), max iterations
    ivec4 shape;  // width, height, frame id, unused
};

layout(std430, binding = 1) writeonly buffer Results {
    uint results[];
};

void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    if (p.x >= shape.x || p.y >= shape.y)
        return;
    int cx = view.x + p.x * view.z;
    int cy = view.y + p.y * view.z;
    int x = 0, y = 0, n = 0;
    for (; n < view.w; ++n) {
        int x2 = (x * x) >> 12;
        int y2 = (y * y) >> 12;
        if (x2 + y2 > (4 << 12))
            break;
        int xy = (x * y) >> 11;
        x = x2 - y2 + cx;
        y = xy + cy;
    }
    results[p.y * shape.x + p.x] = uint(n) | (uint(shape.z) << 16);
}
