"""Calls every wrapped GL entry point with no driver function behind it, at the C level (typed
calls through cffi, no PyOpenGL), then once the driver's function appears. Prints one JSON
object; tests/test_dispatch_guard.py runs it in a subprocess (a crash must not take pytest
down) and checks it.

Phases:
  none      no instance exists at all: the wrappers' no-context fallback has no table;
  missing   an instance whose get_proc finds nothing (as when install() ran before any GL,
            EGL or GLX library was loaded), with a current context: every wrapper, twice;
  resolved  get_proc now finds a (fake) driver function: the next call reaches it.
"""

from __future__ import annotations

import json
import os
import re
import sys

import cffi

from glcoherent._ext import ffi, lib

GL_TYPES = """
typedef unsigned int GLenum; typedef unsigned int GLbitfield; typedef unsigned int GLuint;
typedef int GLint; typedef int GLsizei; typedef unsigned char GLboolean; typedef float GLfloat;
typedef double GLdouble; typedef unsigned char GLubyte; typedef long GLintptr;
typedef long GLsizeiptr; typedef long GLintptrARB; typedef long GLsizeiptrARB;
typedef long GLint64; typedef unsigned long GLuint64; typedef struct __GLsync *GLsync;
typedef char GLchar; typedef char GLcharARB; typedef unsigned int GLhandleARB;
"""
ENTRY = re.compile(r"^\s*X\(([^,]+), (\w+), \((.*?)\), \(", re.M)


def entries(path: str):
    with open(path) as f:
        text = f.read()
    for ret, name, params in ENTRY.findall(text):
        types = []
        if params.strip() != "void":
            for p in params.split(","):
                m = re.match(r"(.*?)(\w+)$", p.strip())
                types.append(m.group(1).strip())
        yield ret.strip(), name, types


def main() -> int:
    import glcoherent

    inc = os.path.join(os.path.dirname(os.path.abspath(glcoherent.__file__)), "native", "gl",
                       "gl_funcs.inc")
    tffi = cffi.FFI()
    tffi.cdef(GL_TYPES)
    scratch = tffi.new("char[65536]")
    wrapped = {ffi.string(lib.glc_wrapper_name(i)).decode()
               for i in range(lib.glc_wrapper_count())}
    calls = []
    for ret, name, types in entries(inc):
        if name not in wrapped:
            continue
        fn = tffi.cast(f"{ret} (*)({', '.join(types) or 'void'})",
                       int(ffi.cast("uintptr_t", lib.glc_wrapper_for(name.encode()))))
        args = [tffi.cast(t, scratch) if "*" in t or t == "GLsync" else 0 for t in types]
        calls.append((name, ret, fn, args))
    result = {"wrappers": len(calls), "kinds": {}}

    def call_all(phase: str) -> None:
        nonzero = []
        for name, ret, fn, args in calls:
            out = fn(*args)
            if ret != "void" and out not in (0, None) and out != tffi.NULL:
                nonzero.append(name)
        result[phase] = {"called": len(calls), "nonzero_returns": nonzero}

    call_all("none")

    logs = []

    @ffi.callback("void(void *, int, const char *)")
    def log(_user, level, message):
        logs.append((level, ffi.string(message).decode()))

    driver = {}

    @ffi.callback("void *(void *, const char *)")
    def get_proc(_user, name):
        return driver.get(ffi.string(name).decode(), ffi.NULL)

    api_out = ffi.new("const void **")
    assert lib.glcoherent_get_api(1, api_out) == 0
    api = ffi.cast("const glcoherent_api_1 *", api_out[0])
    cfg = ffi.new("glcoherent_config *")
    cfg.struct_size = ffi.sizeof("glcoherent_config")
    cfg.get_proc = get_proc
    cfg.log = log
    cfg.tracker = ffi.new("char[]", b"copy")
    inst_out = ffi.new("glcoherent_instance **")
    assert api.create(cfg, inst_out) == 0
    inst = inst_out[0]
    ctx = ffi.cast("void *", 0x1000)
    api.context_created(inst, ctx, ffi.NULL)
    api.make_current(inst, ctx)
    result["get_proc_address_wrapped"] = all(
        api.get_proc_address(inst, n.encode()) == lib.glc_wrapper_for(n.encode())
        for n, _, _, _ in calls)
    call_all("missing")
    call_all("missing_again")
    missing_lines = {}
    for _level, msg in logs:
        m = re.match(r"(\w+): the driver has no such function", msg)
        if m:
            missing_lines[m.group(1)] = missing_lines.get(m.group(1), 0) + 1
    result["missing_logged"] = missing_lines
    result["missing_levels"] = sorted({lv for lv, msg in logs if "no such function" in msg})

    draws = []
    finishes = []

    @tffi.callback("void(GLenum, GLint, GLsizei)")
    def fake_draw_arrays(mode, first, count):
        draws.append((mode, first, count))

    @tffi.callback("void(void)")
    def fake_finish():
        finishes.append(1)

    driver["glDrawArrays"] = ffi.cast("void *", int(tffi.cast("uintptr_t", fake_draw_arrays)))
    driver["glFinish"] = ffi.cast("void *", int(tffi.cast("uintptr_t", fake_finish)))
    draw = tffi.cast("void (*)(GLenum, GLint, GLsizei)",
                     int(ffi.cast("uintptr_t", lib.glc_wrapper_for(b"glDrawArrays"))))
    finish = tffi.cast("void (*)(void)",
                       int(ffi.cast("uintptr_t", lib.glc_wrapper_for(b"glFinish"))))
    draw(4, 7, 3)
    finish()
    result["resolved"] = {"draws": draws, "finishes": len(finishes)}
    api.make_current(inst, ffi.NULL)
    api.context_destroyed(inst, ctx)
    api.destroy(inst)
    print(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
