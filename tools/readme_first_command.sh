#!/usr/bin/env bash
# Runs the README's first command ("Run the main job") literally, the way a newcomer does: in the
# root of a fresh clone of this repository's HEAD, in a new virtual environment. Fails unless
# the demo prints its `OK:` verdict, and unless the `glcoherent` console script and
# `python -m glcoherent` then work from the same directory. Called by .ci/run.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cmd=$(awk '/^Run the main job/ {found = 1; next}
           found && /^    [^ ]/ {sub(/^    /, ""); print; exit}' "$repo/README.md")
if [ -z "$cmd" ]; then
    echo "readme_first_command: no indented command after 'Run the main job' in README.md" >&2
    exit 1
fi
work=$(mktemp -d /tmp/glcoherent-readme.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
python3 -m venv "$work/venv"
echo "readme_first_command: in a fresh clone ($work/clone), new venv:"
echo "  \$ $cmd"
(
    cd "$work/clone"
    # shellcheck disable=SC1091
    . "$work/venv/bin/activate"
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    bash -c "$cmd" 2>&1 | tee "$work/out.txt"
    echo "  \$ glcoherent demo --headless --frames 5   (console script)"
    glcoherent demo --headless --frames 5 2>&1 | tee -a "$work/console.txt"
    echo "  \$ python -m glcoherent info"
    python -m glcoherent info
    echo "  \$ (cd / && python -m glcoherent demo wow64 --headless --frames 5)   (the installed copy)"
    (cd / && python -m glcoherent demo wow64 --headless --frames 5) 2>&1 | tee "$work/wow64.txt"
)
grep -q '^OK:' "$work/out.txt" || { echo "readme_first_command: no OK: verdict" >&2; exit 1; }
grep -q '^OK:' "$work/console.txt" || {
    echo "readme_first_command: the console script gave no OK: verdict" >&2; exit 1; }
grep -q '^OK:' "$work/wow64.txt" || {
    echo "readme_first_command: the installed wow64 demo gave no OK: verdict" >&2; exit 1; }
echo "readme_first_command: OK"
