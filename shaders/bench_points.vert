#version 450 core
// Benchmarks: points whose positions come from the mapped buffer (attribute 0).
layout(location = 0) in vec4 position;
void main()
{
    gl_Position = vec4(position.xy, 0.0, 1.0);
    gl_PointSize = 1.0;
}
