#!/usr/bin/env bash
# Prints the path of a working Python 3.13 interpreter: on PATH first, then among pyenv's
# versions (pyenv's shim on PATH may exist yet fail when 3.13 is not the selected version).
set -u
works() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' >/dev/null 2>&1; }
for candidate in "${PYTHON:-}" python3.13; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && works "$candidate"; then
        command -v "$candidate"; exit 0
    fi
done
roots=()
if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
for root in "${roots[@]}"; do
    for candidate in "$root"/versions/3.13*/bin/python3.13; do
        if [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
    done
done
echo "error: Python 3.13 not found on PATH nor among pyenv's versions; install it (pyenv install 3.13) or set PYTHON=/path/to/python3.13" >&2
exit 1
