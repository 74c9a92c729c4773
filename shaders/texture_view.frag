#version 450 core
// Copies the streamed texture to the frame 1:1 (texelFetch, no filtering): the frame read back
// must equal, byte for byte, what the CPU wrote through the pixel unpack buffer.
uniform sampler2D u_tex;

layout(location = 0) out vec4 o_color;

void main() {
    o_color = texelFetch(u_tex, ivec2(gl_FragCoord.xy), 0);
}
