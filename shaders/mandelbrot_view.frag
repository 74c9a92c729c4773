#version 450 core
// Shows the compute results (iteration counts) with a palette.
layout(std430, binding = 1) readonly buffer Results {
    uint results[];
};

uniform ivec2 u_size;
uniform int u_max_iter;

layout(location = 0) out vec4 o_color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    uint n = results[p.y * u_size.x + p.x] & 0xFFFFu;
    if (int(n) >= u_max_iter) {
        o_color = vec4(0.02, 0.02, 0.05, 1.0);
        return;
    }
    float t = float(n) / float(u_max_iter);
    vec3 c = 0.5 + 0.5 * cos(6.2831853 * (vec3(0.0, 0.15, 0.35) + 2.5 * t));
    o_color = vec4(c * sqrt(t + 0.05), 1.0);
}
