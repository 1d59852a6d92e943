#!/usr/bin/env bash
# Installs the C library of miji under PREFIX (default /usr/local):
#   PREFIX/lib/libmiji.a, PREFIX/lib/libmiji.so, PREFIX/include/miji.h,
#   PREFIX/lib/pkgconfig/miji.pc
# Usage: bindings/c/install.sh [PREFIX]     (env: CARGO_TARGET_DIR, MIJI_CAPI_NO_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")"
prefix=${1:-/usr/local}
libdir=$prefix/lib
includedir=$prefix/include
root=$(cd ../.. && pwd)
target=${CARGO_TARGET_DIR:-$root/target}/release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)

if [[ ${MIJI_CAPI_NO_BUILD:-0} != 1 ]]; then
    cargo build -p miji-capi --release
fi
install -d "$libdir/pkgconfig" "$includedir"
install -m 0644 "$target/libmiji_c.a" "$libdir/libmiji.a"
install -m 0755 "$target/libmiji_c.so" "$libdir/libmiji.so"
install -m 0644 include/miji.h "$includedir/miji.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|$version|" miji.pc.in > "$libdir/pkgconfig/miji.pc"
echo "installed libmiji $version under $prefix"
