"""Compiler flags and source lists shared by setup.py and the cffi builders (one place for the C
build policy)."""

import glob
import os

ROOT = os.path.dirname(os.path.abspath(__file__))
# glcoherent/native/, relative to the repository root (setuptools wants relative source paths).
NATIVE = "glcoherent/native"
# The layers of the product, lowest first: every shipped library and the cffi module compile
# these; preload/ adds the interposer, bench/ the benchmark loops (on base/ and track/ only).
PRODUCT_LAYERS = ("base", "core", "track", "gl", "api")


def layer_sources(*layers: str) -> list:
    """The .c files of the given layer folders of glcoherent/native, relative to the root."""
    return sorted(os.path.relpath(p, ROOT) for layer in layers
                  for p in glob.glob(os.path.join(ROOT, NATIVE, layer, "*.c")))


def _on(name: str) -> bool:
    """A build-time flag, spelled as base/config.h's flags (which cannot be used before the
    build): unset, empty, 0, false, no, off are off."""
    return os.environ.get(name, "").lower() not in ("", "0", "false", "no", "off")


def native_flags(strict: bool = True):
    """(cflags, ldflags) for glcoherent/native/*/*.c.

    strict=False is for the cffi-generated wrapper unit, whose code is not ours.
    GLCOHERENT_WERROR=1 adds -Werror; GLCOHERENT_SANITIZE=1 adds ASan + UBSan.
    """
    cflags = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra"]
    if strict:
        cflags += ["-fvisibility=hidden", "-Wshadow", "-Wstrict-prototypes"]
        if _on("GLCOHERENT_WERROR"):
            cflags.append("-Werror")
    else:
        cflags += ["-Wno-unused-parameter", "-Wno-unused-function"]
    ldflags = ["-ldl", "-lpthread"]
    if _on("GLCOHERENT_SANITIZE"):
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=undefined"]
        cflags += san
        ldflags += san
    return cflags, ldflags
