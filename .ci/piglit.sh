#!/usr/bin/env bash
# piglit under `glcoherent run`: bufferstorage-persistent {draw,read} x {-, coherent,
# client-storage, coherent client-storage} for every tracker and with --limit 2G, plus the
# other piglit tests that map buffers (see tests/programs/piglit_matrix.py). A run passes only
# when piglit reports pass AND its glcoherent-stats line shows the maps went through glcoherent
# (persistent_maps > 0 where expected) below the limit. Prints a table; exits non-zero on any
# failure or when piglit is missing.
#   .ci/piglit.sh [--quick] [-j N] [--json FILE] [--verbose]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIGLIT_PLATFORM=surfaceless_egl
exec "${PYTHON:-python3}" tests/programs/piglit_matrix.py "$@"
