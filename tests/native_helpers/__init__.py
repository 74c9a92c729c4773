"""The tests' C helpers (helpers.c) as the cffi module _glctest, with their own copy of the
tracking layer (glcoherent/native/track/): test code never goes into the shipped libraries or
into glcoherent._native.

load() builds the module on first use into tests/native_helpers/_build/<key>/, where the key
hashes the sources, the flags (GLCOHERENT_SANITIZE gives an ASan build) and the Python and cffi
versions; later calls, and child interpreters, import the cached build.
"""

import glob
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODULE = "_glctest"
_loaded = None


def _inputs():
    native = os.path.join(ROOT, "glcoherent", "native")
    return sorted(glob.glob(os.path.join(native, "base", "*.[ch]")) +
                  glob.glob(os.path.join(native, "track", "*.[ch]")) +
                  glob.glob(os.path.join(HERE, "helpers.*")) +
                  [os.path.join(ROOT, "glcoherent", "native", "cdef", "tracker.cdef"),
                   os.path.join(ROOT, "setup_flags.py"),
                   os.path.join(ROOT, "glcoherent", "_build_native.py"), os.path.abspath(__file__)])


def _builder():
    # By path, not as glcoherent._build_native: importing the glcoherent package would load
    # glcoherent._native, which an ASan build cannot do without the runtime preloaded.
    spec = importlib.util.spec_from_file_location(
        "_glc_build_native", os.path.join(ROOT, "glcoherent", "_build_native.py"))
    b = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(b)
    NATIVE, cdef, make_builder, layer_sources = b.NATIVE, b.cdef, b.make_builder, b.layer_sources

    return make_builder(
        MODULE,
        [cdef("tracker"), os.path.join(HERE, "helpers.cdef")],
        ["track/tracker.h", "helpers.h"],
        [os.path.join(ROOT, p) for p in layer_sources("base", "track")] +
        [os.path.join(HERE, "helpers.c")],
        include_dirs=[HERE],
        native_dir=NATIVE,
    )


def _key():
    import cffi

    h = hashlib.sha256()
    for p in _inputs():
        with open(p, "rb") as f:
            h.update(p.encode() + b"\0" + f.read())
    h.update(repr((sys.version, cffi.__version__,
                   os.environ.get("GLCOHERENT_SANITIZE", ""))).encode())
    return h.hexdigest()[:16]


def _find(d):
    found = glob.glob(os.path.join(d, MODULE + "*.so"))
    return found[0] if found else None


def build():
    """The path of the _glctest module, built if needed (not imported: an ASan build can only
    be imported in a process that has the ASan runtime preloaded)."""
    dest = os.path.join(HERE, "_build", _key())
    so = _find(dest) if os.path.isdir(dest) else None
    if so is not None:
        return so
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(dest))
    try:
        _builder().compile(tmpdir=tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.rename(tmp, dest)
    except OSError:  # built meanwhile by another process
        shutil.rmtree(tmp, ignore_errors=True)
    return _find(dest)


def load():
    """The _glctest module (attributes ffi and lib), built if needed."""
    global _loaded
    if _loaded is None:
        spec = importlib.util.spec_from_file_location(MODULE, build())
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _loaded = mod
    return _loaded
