#!/usr/bin/env bash
# The project's test command (README "Run the tests"). Assumes `.ci/run` (or the README's
# set-up line) installed the package and the system packages. Runs:
#   1. ruff on the Python code;
#   2. the whole pytest suite once per tracker backend (GLCOHERENT_TRACKER=uffd|mprotect|copy),
#      then once with the default (auto), which also runs piglit and the Xvfb demo;
#   3. the native-core tests and the in-process GL tests (tests/test_gl_*.py) once more against
#      an AddressSanitizer + UBSan build (the cffi modules and the tests' C helpers);
#   4. the benchmark's --quick preset as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYOPENGL_PLATFORM=egl
PY=${PYTHON:-python3}

step() { printf '\n==== %s ====\n' "$*"; }

step "ruff"
$PY -m ruff check glcoherent tests tools demos shaders setup.py setup_flags.py

for tracker in uffd mprotect copy; do
    step "pytest, tracker=$tracker"
    GLCOHERENT_TRACKER=$tracker $PY -m pytest -q -p no:cacheprovider -m "not piglit and not xvfb" tests
done

step "pytest, tracker=auto (default), with piglit and Xvfb"
$PY -m pytest -q -p no:cacheprovider tests

step "native core and GL layer under AddressSanitizer + UBSan"
asan_dir=$(mktemp -d /tmp/glcoherent-asan.XXXXXX)
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$asan_dir"
(cd "$asan_dir" && GLCOHERENT_SANITIZE=1 GLCOHERENT_WERROR=1 \
    $PY setup.py -q build_ext --inplace --build-temp "$asan_dir/build-tmp" >/dev/null && \
    GLCOHERENT_SANITIZE=1 PYTHONPATH="$asan_dir/tests" $PY -c \
        "import native_helpers; native_helpers.build()" >/dev/null)
asan_tests=$(cd "$asan_dir" && ls tests/test_arena.py tests/test_shadow.py tests/test_tracker.py tests/test_vmem.py tests/test_gl_*.py 2>/dev/null)
(cd "$asan_dir" && \
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    PYTHONPATH="$asan_dir" $PY -c "import glcoherent._native as n, sys; \
assert n.__file__.startswith('$asan_dir'), n.__file__; print('asan build:', n.__file__)" && \
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    GLCOHERENT_SANITIZE=1 PYTHONPATH="$asan_dir" $PY -m pytest -q -p no:cacheprovider $asan_tests \
        -m "not piglit and not xvfb" \
        --deselect tests/test_tracker.py::test_segv_registry_delegates_to_preloaded_library)
# (that test preloads the interposer, whose dlsym stub cannot share a process with ASan's
# runtime; it runs in every other pass above). The tests' own C module (tests/native_helpers/)
# is built with ASan before the run (outside LD_PRELOAD); GLCOHERENT_SANITIZE=1 during pytest
# makes the tests pick that build.
rm -rf "$asan_dir"

if $PY -c "import glcoherent.bench.cli" 2>/dev/null; then
    step "benchmark smoke test (bench --quick)"
    $PY -m glcoherent bench --quick --json /tmp/glcoherent-bench-quick.json
fi
step "all tests passed"
