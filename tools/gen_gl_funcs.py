"""Generate glcoherent/native/gl/gl_funcs.inc from the Khronos registry (gl.xml).

The output is committed, so building needs no registry; re-run after changing the lists:
    python tools/gen_gl_funcs.py [/usr/share/khronos-api/gl.xml]

Each list is an X-macro X(ret, name, params, args), grouped by what the GL layer does around
the real call (see glcoherent/native/gl/layer.c).
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LISTS = {
    # Reads any buffer, may write SSBO/atomic/xfb/image buffers: flush before, mark after.
    # Reads any buffer, may write SSBO/atomic/xfb/image buffers: flush before, mark after. Their
    # reads are not bounded by what the layer knows (indirect, transform feedback, compute).
    "GLC_GL_DRAW": """
        glDrawArraysIndirect glDrawElementsIndirect
        glMultiDrawArraysIndirect glMultiDrawElementsIndirect
        glMultiDrawArraysIndirectCount glMultiDrawElementsIndirectCount
        glMultiDrawArraysIndirectCountARB glMultiDrawElementsIndirectCountARB
        glDrawTransformFeedback glDrawTransformFeedbackInstanced glDrawTransformFeedbackStream
        glDrawTransformFeedbackStreamInstanced glDispatchCompute glDispatchComputeIndirect
        glEnd
        glMultiDrawArraysIndirectAMD glMultiDrawElementsIndirectAMD
        glDispatchComputeGroupSizeARB
    """,
    # Draws whose vertex fetches the layer can bound (gl/vertex.h); hand-written in gl/wrap.c.
    "GLC_GL_BOUNDED": """
        glDrawArrays glDrawArraysEXT glDrawArraysInstanced glDrawArraysInstancedARB
        glDrawArraysInstancedEXT glDrawArraysInstancedBaseInstance
        glDrawElements glDrawElementsInstanced glDrawElementsInstancedARB
        glDrawElementsInstancedEXT glDrawElementsBaseVertex glDrawElementsInstancedBaseVertex
        glDrawElementsInstancedBaseInstance glDrawElementsInstancedBaseVertexBaseInstance
        glDrawRangeElements glDrawRangeElementsEXT glDrawRangeElementsBaseVertex
        glMultiDrawArrays glMultiDrawArraysEXT glMultiDrawElements glMultiDrawElementsEXT
        glMultiDrawElementsBaseVertex
    """,
    # Vertex-input state the model follows exactly; hand-written in gl/wrap.c.
    "GLC_GL_VERTEX": """
        glBindBuffer glBindBufferARB glBindVertexArray glDeleteVertexArrays
        glVertexAttribPointer glVertexAttribIPointer glVertexAttribLPointer
        glEnableVertexAttribArray glDisableVertexAttribArray glVertexAttribDivisor
        glBindVertexBuffer glVertexAttribFormat glVertexAttribIFormat glVertexAttribLFormat
        glVertexAttribBinding glVertexBindingDivisor
        glVertexArrayVertexBuffer glVertexArrayElementBuffer glVertexArrayAttribFormat
        glVertexArrayAttribIFormat glVertexArrayAttribLFormat glVertexArrayAttribBinding
        glVertexArrayBindingDivisor glEnableVertexArrayAttrib glDisableVertexArrayAttrib
    """,
    # Other vertex-input state: the model reads the driver's state back before the next draw.
    "GLC_GL_VERTEX_STALE": """
        glBindVertexBuffers glVertexArrayVertexBuffers glVertexAttribPointerARB
        glVertexAttribIPointerEXT glVertexAttribLPointerEXT glEnableVertexAttribArrayARB
        glDisableVertexAttribArrayARB glVertexAttribDivisorARB glVertexAttribDivisorEXT
        glVertexArrayVertexAttribOffsetEXT glVertexArrayVertexAttribIOffsetEXT
        glVertexArrayVertexAttribLOffsetEXT glEnableVertexArrayAttribEXT
        glDisableVertexArrayAttribEXT glVertexArrayVertexAttribDivisorEXT
        glVertexArrayVertexAttribFormatEXT glVertexArrayVertexAttribIFormatEXT
        glVertexArrayVertexAttribLFormatEXT glVertexArrayVertexAttribBindingEXT
        glVertexArrayVertexBindingDivisorEXT glVertexArrayBindVertexBufferEXT
        glDeleteVertexArraysAPPLE
    """,
    # Fixed-function arrays: the context's draws are unbounded from then on.
    "GLC_GL_VERTEX_LEGACY": """
        glVertexPointer glColorPointer glSecondaryColorPointer glNormalPointer glTexCoordPointer
        glFogCoordPointer glEdgeFlagPointer glIndexPointer glInterleavedArrays
        glEnableClientState glDisableClientState glVertexPointerEXT glColorPointerEXT
        glNormalPointerEXT glTexCoordPointerEXT glIndexPointerEXT glEdgeFlagPointerEXT
        glSecondaryColorPointerEXT glFogCoordPointerEXT glMultiTexCoordPointerEXT
        glEnableClientStateIndexedEXT glEnableClientStateiEXT glDisableClientStateIndexedEXT
        glDisableClientStateiEXT glVertexAttribPointerNV glVertexArrayVertexOffsetEXT
        glVertexArrayColorOffsetEXT glVertexArrayEdgeFlagOffsetEXT glVertexArrayIndexOffsetEXT
        glVertexArrayNormalOffsetEXT glVertexArrayTexCoordOffsetEXT
        glVertexArrayMultiTexCoordOffsetEXT glVertexArrayFogCoordOffsetEXT
        glVertexArraySecondaryColorOffsetEXT glEnableVertexArrayEXT glDisableVertexArrayEXT
        glBindVertexArrayAPPLE
    """,
    # What the program in use may write (gl/program.h); hand-written in gl/wrap.c.
    "GLC_GL_PROGRAM": """
        glShaderSource glShaderBinary glSpecializeShader glAttachShader glDetachShader
        glLinkProgram glProgramBinary glCreateShaderProgramv glDeleteProgram glUseProgram
        glBindProgramPipeline glUseProgramStages glBeginTransformFeedback glEndTransformFeedback
    """,
    # Program entry points the layer does not follow: every program may write from then on.
    "GLC_GL_PROGRAM_UNKNOWN": """
        glUseProgramObjectARB glLinkProgramARB glShaderSourceARB glAttachObjectARB
        glDetachObjectARB glCreateShaderProgramEXT glUseShaderProgramEXT glActiveProgramEXT
        glCreateShaderProgramvEXT glUseProgramStagesEXT glBindProgramPipelineEXT
        glSpecializeShaderARB glBeginTransformFeedbackEXT glBeginTransformFeedbackNV
        glProgramBinaryOES
    """,
    # Read the pixel unpack buffer: flush before.
    "GLC_GL_UNPACK": """
        glTexImage1D glTexImage2D glTexImage3D glTexSubImage1D glTexSubImage2D glTexSubImage3D
        glCompressedTexImage1D glCompressedTexImage2D glCompressedTexImage3D
        glCompressedTexSubImage1D glCompressedTexSubImage2D glCompressedTexSubImage3D
        glTextureSubImage1D glTextureSubImage2D glTextureSubImage3D
        glCompressedTextureSubImage1D glCompressedTextureSubImage2D glCompressedTextureSubImage3D
        glDrawPixels glBitmap glPolygonStipple
        glCompressedTexImage1DARB glCompressedTexImage2DARB glCompressedTexImage3DARB
        glCompressedTexSubImage1DARB glCompressedTexSubImage2DARB glCompressedTexSubImage3DARB
        glTexImage3DEXT glTexSubImage1DEXT glTexSubImage2DEXT glTexSubImage3DEXT
        glTextureImage1DEXT glTextureImage2DEXT glTextureImage3DEXT
        glTextureSubImage1DEXT glTextureSubImage2DEXT glTextureSubImage3DEXT
        glCompressedTextureImage1DEXT glCompressedTextureImage2DEXT glCompressedTextureImage3DEXT
        glCompressedTextureSubImage1DEXT glCompressedTextureSubImage2DEXT
        glCompressedTextureSubImage3DEXT
        glMultiTexImage1DEXT glMultiTexImage2DEXT glMultiTexImage3DEXT
        glMultiTexSubImage1DEXT glMultiTexSubImage2DEXT glMultiTexSubImage3DEXT
        glCompressedMultiTexImage1DEXT glCompressedMultiTexImage2DEXT
        glCompressedMultiTexImage3DEXT glCompressedMultiTexSubImage1DEXT
        glCompressedMultiTexSubImage2DEXT glCompressedMultiTexSubImage3DEXT
    """,
    # Write the pixel pack buffer, or client memory (a synchronous readback: a sync point).
    "GLC_GL_PACK": """
        glReadPixels glReadnPixels glGetTexImage glGetTextureImage glGetTextureSubImage
        glGetCompressedTexImage glGetCompressedTextureImage glGetCompressedTextureSubImage
        glGetnTexImage glGetnCompressedTexImage
        glReadnPixelsARB glGetnTexImageARB glGetnCompressedTexImageARB glGetCompressedTexImageARB
        glGetTextureImageEXT glGetCompressedTextureImageEXT glGetMultiTexImageEXT
        glGetCompressedMultiTexImageEXT
    """,
    # Write into the query buffer when one is bound.
    "GLC_GL_QUERYOBJ": """
        glGetQueryObjectiv glGetQueryObjectuiv glGetQueryObjecti64v glGetQueryObjectui64v
        glGetQueryObjectivARB glGetQueryObjectuivARB glGetQueryObjecti64vEXT
        glGetQueryObjectui64vEXT
    """,
    # Ordinary calls that only give pending GPU writes a chance to come back (polling).
    "GLC_GL_POLL": """
        glFlush glClear glGetIntegerv glGetBooleanv glGetFloatv glGetDoublev
        glGetQueryiv
    """,
    # Hand-written wrappers in gl_wrap.c.
    "GLC_GL_SPECIAL": """
        glBufferStorage glNamedBufferStorage glNamedBufferStorageEXT
        glBufferStorageMemEXT glNamedBufferStorageMemEXT
        glBufferData glBufferDataARB glNamedBufferData glNamedBufferDataEXT
        glMapBuffer glMapBufferARB glMapBufferRange glMapNamedBuffer glMapNamedBufferEXT
        glMapNamedBufferRange glMapNamedBufferRangeEXT
        glUnmapBuffer glUnmapBufferARB glUnmapNamedBuffer glUnmapNamedBufferEXT
        glFlushMappedBufferRange glFlushMappedNamedBufferRange glFlushMappedNamedBufferRangeEXT
        glGetBufferPointerv glGetBufferPointervARB glGetNamedBufferPointerv
        glGetNamedBufferPointervEXT
        glDeleteBuffers glDeleteBuffersARB
        glBufferSubData glBufferSubDataARB glNamedBufferSubData glNamedBufferSubDataEXT
        glClearBufferData glClearBufferSubData glClearNamedBufferData glClearNamedBufferDataEXT
        glClearNamedBufferSubData glClearNamedBufferSubDataEXT
        glCopyBufferSubData glCopyNamedBufferSubData glNamedCopyBufferSubDataEXT
        glGetBufferSubData glGetBufferSubDataARB glGetNamedBufferSubData
        glGetNamedBufferSubDataEXT
        glGetQueryBufferObjectiv glGetQueryBufferObjectuiv glGetQueryBufferObjecti64v
        glGetQueryBufferObjectui64v
        glBindBufferBase glBindBufferRange glBindBuffersBase glBindBuffersRange
        glBindBufferBaseEXT glBindBufferRangeEXT glBindBufferOffsetEXT
        glTransformFeedbackBufferBase glTransformFeedbackBufferRange
        glTexBuffer glTexBufferARB glTexBufferRange glTextureBuffer glTextureBufferRange
        glTextureBufferEXT glTextureBufferRangeEXT glMultiTexBufferEXT
        glBindImageTexture glBindImageTextureEXT glBindImageTextures
        glFinish glFenceSync glClientWaitSync glGetSynciv glDeleteSync
        glMemoryBarrier glMemoryBarrierByRegion glGetError
    """,
    # Real entry points the layer calls but does not wrap.
    "GLC_GL_INTERNAL": """
        glGetString glGetBufferParameteriv glGetNamedBufferParameteriv
        glGetNamedBufferParameterivEXT glGetBufferParameteri64v glGetNamedBufferParameteri64v
        glGetIntegeri_v glGetInteger64i_v glGetVertexAttribiv glIsEnabled glGetTexLevelParameteriv
    """,
}


def text_of(elem):
    return "".join(elem.itertext()).strip()


def main():
    xml = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/khronos-api/gl.xml"
    root = ET.parse(xml).getroot()
    commands = {}
    for cmd in root.find("commands").findall("command"):
        proto = cmd.find("proto")
        name = proto.find("name").text
        ret = text_of(proto)[: -len(name)].strip()
        params, args = [], []
        for p in cmd.findall("param"):
            pname = p.find("name").text
            params.append(" ".join(text_of(p).split()))
            args.append(pname)
        commands[name] = (ret, params, args)
    out = [
        "/* gl/gl_funcs.inc [GL layer] - generated by tools/gen_gl_funcs.py from the Khronos",
        " * gl.xml registry. Do not edit; edit the lists in the generator and re-run it. */",
        "",
    ]
    for list_name, names in LISTS.items():
        out.append(f"#define {list_name}(X) \\")
        items = names.split()
        for i, name in enumerate(items):
            ret, params, args = commands[name]
            p = "(" + (", ".join(params) if params else "void") + ")"
            a = "(" + ", ".join(args) + ")"
            tail = " \\" if i < len(items) - 1 else ""
            out.append(f"    X({ret}, {name}, {p}, {a}){tail}")
        out.append("")
    dest = Path(__file__).resolve().parent.parent / "glcoherent" / "native" / "gl" / "gl_funcs.inc"
    dest.write_text("\n".join(out))
    print(f"wrote {dest} ({sum(len(v.split()) for v in LISTS.values())} entry points)")


if __name__ == "__main__":
    main()
