#version 450 core
// Particles streamed through a persistent coherent vertex ring: the CPU writes every vertex of
// every frame; a_frame carries the id of the frame that wrote it, so a vertex left over from an
// older frame (not flushed to the GPU in time) shows up in the id pass.
layout(location = 0) in vec2 a_pos;     // clip space, at pixel centres
layout(location = 1) in float a_speed;  // 0..1, for the colour
layout(location = 2) in uint a_frame;   // frame id (1-based)

uniform float u_point_size;

out float v_speed;
flat out uint v_frame;

void main() {
    gl_Position = vec4(a_pos, 0.0, 1.0);
    gl_PointSize = u_point_size;
    v_speed = a_speed;
    v_frame = a_frame;
}
