#version 450 core
// Benchmarks (bulk): one point per draw, transformed by a matrix read from the mapped buffer,
// bound as a shader storage buffer (the AZDO "buffer storage" shape).
layout(std430, binding = 0) readonly buffer Matrices {
    mat4 model[];
};
void main()
{
    vec4 p = model[gl_VertexID] * vec4(0.0, 0.0, 0.0, 1.0);
    gl_Position = vec4(clamp(p.xy, -1.0, 1.0), 0.0, 1.0);
    gl_PointSize = 1.0;
}
