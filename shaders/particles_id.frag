#version 450 core
// The check pass: 1-pixel points write the frame id of their vertex into an R32UI target.
flat in uint v_frame;

layout(location = 0) out uint o_frame;

void main() {
    o_frame = v_frame;
}
