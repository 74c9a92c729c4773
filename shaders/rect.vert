#version 450 core
// A pixel-aligned rectangle from uniforms (draw 4 vertices as a triangle strip): its covered
// sample count is exactly its area, which the query-poll demo checks.
uniform vec4 u_rect;   // x0, y0, x1, y1 in pixels
uniform vec2 u_size;   // viewport size in pixels
uniform float u_depth; // clip-space z

void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
    vec2 p = mix(u_rect.xy, u_rect.zw, corner);
    gl_Position = vec4(p / u_size * 2.0 - 1.0, u_depth, 1.0);
}
