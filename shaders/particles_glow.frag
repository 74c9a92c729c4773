#version 450 core
// The visible pass: round soft points, blended additively, coloured by speed.
in float v_speed;
flat in uint v_frame;

layout(location = 0) out vec4 o_color;

void main() {
    vec2 d = gl_PointCoord * 2.0 - 1.0;
    float r2 = dot(d, d);
    if (r2 > 1.0)
        discard;
    float glow = 1.0 - r2;
    vec3 slow = vec3(1.00, 0.35, 0.08);
    vec3 fast = vec3(0.25, 0.75, 1.00);
    vec3 c = mix(slow, fast, clamp(v_speed, 0.0, 1.0));
    o_color = vec4(c * glow * 0.55, 1.0);
}
