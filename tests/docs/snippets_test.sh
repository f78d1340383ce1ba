#!/usr/bin/env bash
# snippets_test.sh BUILD_DIR PYTHON SNIPPETS_PY ARGS...: installs the headers of BUILD_DIR (the
# dev component) into a temporary prefix and runs snippets.py against them.
set -euo pipefail
build_dir=$1 python=$2 script=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" --component dev >/dev/null
"$python" "$script" --include "$work/prefix/include" "$@"
