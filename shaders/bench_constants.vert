#version 450 core
// Benchmarks (ring): points from the mapped ring (attribute 0), moved by a per-draw constant
// block that lives in the same ring (a uniform buffer range, as D3D constant buffers on GL).
layout(location = 0) in vec4 position;
layout(std140, binding = 0) uniform Constants {
    vec4 offset;
};
void main()
{
    gl_Position = vec4(position.xy + offset.xy * 0.001, 0.0, 1.0);
    gl_PointSize = 1.0;
}
