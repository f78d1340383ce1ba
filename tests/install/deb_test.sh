#!/usr/bin/env bash
# deb_test.sh SOURCE_DIR DEB_DIR: checks the .deb pair that `./tools/dev package` made in DEB_DIR
# (names, contents, Depends), unpacks both with dpkg-deb -x into a scratch root, and builds and
# runs tests/install/consumer against it with find_package (shared and static) and pkg-config.
set -euo pipefail
source_dir=$1
deb_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

runtime_deb=$(ls "$deb_dir"/libexecutor0_*.deb 2>/dev/null | head -1)
dev_deb=$(ls "$deb_dir"/libexecutor-dev_*.deb 2>/dev/null | head -1)
[ -n "$runtime_deb" ] || fail "no libexecutor0_*.deb in $deb_dir"
[ -n "$dev_deb" ] || fail "no libexecutor-dev_*.deb in $deb_dir"

version=$(dpkg-deb -f "$runtime_deb" Version)
runtime_depends=$(dpkg-deb -f "$runtime_deb" Depends)
dev_depends=$(dpkg-deb -f "$dev_deb" Depends)
# libexecutor0: the shared libraries it links, as dpkg-shlibdeps found them.
for dep in libc6 libstdc++6 libgcc-s1 liburing2 libfmt9 libabsl; do
  [[ ", $runtime_depends" == *", $dep"* ]] || fail "libexecutor0 Depends lacks $dep: $runtime_depends"
done
# libexecutor-dev: the same version of the library, and the -dev packages of the headers (absl)
# and of the static library's link line (fmt, liburing).
for dep in "libexecutor0 (= $version)" libabsl-dev libfmt-dev liburing-dev; do
  grep -qF "$dep" <<<"$dev_depends" || fail "libexecutor-dev Depends lacks '$dep': $dev_depends"
done

runtime_files=$(dpkg-deb -c "$runtime_deb" | awk '{print $6}')
dev_files=$(dpkg-deb -c "$dev_deb" | awk '{print $6}')
multiarch=$(gcc -print-multiarch)
libdir=usr/lib/$multiarch
grep -qx "./$libdir/libexecutor.so.0" <<<"$runtime_files" || fail "libexecutor0 lacks $libdir/libexecutor.so.0"
if grep -qE '\.h(pp)?$|\.a$|\.pc$|\.cmake$|libexecutor\.so$' <<<"$runtime_files"; then
  fail "libexecutor0 holds development files: $runtime_files"
fi
for f in "$libdir/libexecutor.so" "$libdir/libexecutor.a" "$libdir/pkgconfig/executor.pc" \
         "$libdir/cmake/executor/executorConfig.cmake" usr/include/executor/executor.hpp; do
  grep -qx "./$f" <<<"$dev_files" || fail "libexecutor-dev lacks $f"
done
if grep -q 'libexecutor\.so\.0' <<<"$dev_files"; then fail "libexecutor-dev holds the runtime library"; fi

root=$work/root
dpkg-deb -x "$runtime_deb" "$root"
dpkg-deb -x "$dev_deb" "$root"

expect() {  # expect PATTERN OUTPUT STEP
  if ! grep -qF -- "$1" <<<"$2"; then echo "FAILED: $3: expected '$1' in:"; echo "$2"; exit 1; fi
}
cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
export LD_LIBRARY_PATH="$root/$libdir"
expect 'consumer ok 49' "$("$work/consumer/consumer")" "find_package shared"
expect 'consumer ok 49' "$("$work/consumer/consumer_static")" "find_package static"
expect "$root/$libdir/libexecutor.so.0" "$(ldd "$work/consumer/consumer")" "ldd"

export PKG_CONFIG_PATH=$root/$libdir/pkgconfig
# shellcheck disable=SC2046
g++ "$source_dir/tests/install/consumer/main.cpp" $(pkg-config --cflags --libs executor) \
  -o "$work/pc_consumer"
expect 'consumer ok 49' "$("$work/pc_consumer")" "pkg-config"
echo "deb test passed: $(basename "$runtime_deb") $(basename "$dev_deb")"
