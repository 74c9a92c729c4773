"""Lets every demo also run as a plain script (``python demos/particles.py ...``).

A plain script has no package, and its own folder is first on sys.path. setup() takes that folder
off sys.path (so demos/cli.py cannot shadow anything) and makes ``glcoherent.demos`` importable:
from the installed package when there is one, else from this source tree (glcoherent built in
place with ``python setup.py build_ext --inplace``).
"""

from __future__ import annotations

import importlib.util
import os
import sys


def setup() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import glcoherent.demos  # noqa: F401
        import glcoherent.shaders  # noqa: F401
        return
    except ImportError:
        pass
    if root not in sys.path:
        sys.path.insert(0, root)
    import glcoherent

    for sub, folder in (("demos", here), ("shaders", os.path.join(root, "shaders"))):
        name = f"glcoherent.{sub}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        setattr(glcoherent, sub, mod)
