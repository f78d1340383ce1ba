#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs an out-of-tree consumer
# with find_package(executor) (shared and static) and with pkg-config, the latter after moving
# the prefix elsewhere (executor.pc is relative to its own folder).
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null

cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
libdir=$(dirname "$(find "$work/prefix" -name 'libexecutor.so.0' | head -1)")
# Capture, then match: `producer | grep -q` can fail under pipefail when grep exits early.
expect() {  # expect PATTERN OUTPUT STEP
  if ! grep -qF -- "$1" <<<"$2"; then echo "FAILED: $3: expected '$1' in:"; echo "$2"; exit 1; fi
}
expect 'consumer ok 49' "$(LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer")" "find_package shared"
expect 'consumer ok 49' "$("$work/consumer/consumer_static")" "find_package static"
# The shared library must be the one from the prefix, with its versioned SONAME.
expect "$libdir/libexecutor.so.0" "$(LD_LIBRARY_PATH="$libdir" ldd "$work/consumer/consumer")" "ldd"

# The documented place: <prefix>/<libdir>/pkgconfig (lib/pkgconfig for a prefix other than /usr).
[ -f "$work/prefix/lib/pkgconfig/executor.pc" ] || { echo "FAILED: no lib/pkgconfig/executor.pc"; exit 1; }
mv "$work/prefix" "$work/moved"
pc_dir=$work/moved/lib/pkgconfig
libdir=$work/moved/lib
expect "-I$work/moved/" "$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags executor)" "pkg-config --cflags"
# shellcheck disable=SC2046
g++ "$source_dir/tests/install/consumer/main.cpp" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs executor) -o "$work/pc_consumer"
expect 'consumer ok 49' "$(LD_LIBRARY_PATH="$libdir" "$work/pc_consumer")" "pkg-config"
# --static adds the static library's private dependencies.
static_libs=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --static --libs executor)
for l in -luring -lfmt -labsl_synchronization; do expect "$l" "$static_libs" "pkg-config --static"; done
echo "install consumer test passed (find_package shared+static, pkg-config from a moved prefix)"
