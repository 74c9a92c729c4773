"""No wrapper ever calls NULL (issue: install() before any GL library is loaded crashed).

tests/programs/dispatch_guard.py calls every wrapped entry point, typed, at the C level, in
three situations: no instance at all, an instance whose get-proc-address finds nothing (with a
current context, so every wrapper kind runs its full path: draw, unpack, pack, query object,
poll, storage/map, sync, error, binding), and after the driver's function appears."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "programs", "dispatch_guard.py")


def test_every_wrapper_is_guarded_and_resolves_again():
    p = subprocess.run([sys.executable, PROGRAM], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stderr[-3000:]}"
    r = json.loads(p.stdout)
    assert r["wrappers"] >= 200, r["wrappers"]
    for phase in ("none", "missing", "missing_again"):
        assert r[phase]["called"] == r["wrappers"]
        # Like a GLVND no-op stub: nothing happens and the result is 0 / NULL.
        assert r[phase]["nonzero_returns"] == [], (phase, r[phase]["nonzero_returns"])
    # A wrapper hands itself out even before the driver's function can be found.
    assert r["get_proc_address_wrapped"]
    # One error line per missing function, naming it, however often it is called.
    logged = r["missing_logged"]
    assert "glDrawArrays" in logged and "glMapBufferRange" in logged and "glGetError" in logged
    assert set(logged.values()) == {1}, {k: v for k, v in logged.items() if v != 1}
    assert r["missing_levels"] == [3]  # error
    # With no instance at all the fallback table logs on stderr (no log callback there).
    assert "glDrawArrays: the driver has no such function" in p.stderr
    # Once the driver has the function, the next call reaches it.
    assert r["resolved"] == {"draws": [[4, 7, 3]], "finishes": 1}
