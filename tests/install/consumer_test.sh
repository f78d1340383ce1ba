#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs an out-of-tree consumer
# with find_package(executor) (shared and static) and with pkg-config.
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
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer" | grep -q 'consumer ok 49'
"$work/consumer/consumer_static" | grep -q 'consumer ok 49'
# The shared library must be the one from the prefix, with its versioned SONAME.
LD_LIBRARY_PATH="$libdir" ldd "$work/consumer/consumer" | grep -q "$libdir/libexecutor.so.0"

pc_dir=$(dirname "$(find "$work/prefix" -name executor.pc | head -1)")
sed -i "s|^prefix=.*|prefix=$work/prefix|" "$pc_dir/executor.pc"
PKG_CONFIG_PATH="$pc_dir" g++ -std=c++20 "$source_dir/tests/install/consumer/main.cpp" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs executor) -o "$work/pc_consumer"
LD_LIBRARY_PATH="$libdir" "$work/pc_consumer" | grep -q 'consumer ok 49'
echo "install consumer test passed (find_package shared+static, pkg-config)"
