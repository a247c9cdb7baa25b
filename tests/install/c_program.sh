#!/bin/sh
# Installs the build BUILD_DIR into a temporary prefix (cmake --install), then
# builds tests/install/link_idl.c against the installed libidl through its
# pkg-config file and runs it. Usage: c_program.sh BUILD_DIR [CC]
set -eu
build=$1
cc=${2:-cc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idl-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
pc=$(dirname "$(find "$tmp/prefix" -name idl.pc | head -n 1)")
[ -n "$pc" ] || { echo "c_program: no idl.pc installed"; exit 1; }
export PKG_CONFIG_PATH="$pc"
cflags=$(pkg-config --cflags idl)
libs=$(pkg-config --libs idl)
libdir=$(pkg-config --variable=libdir idl)
echo "$cc link_idl.c $cflags $libs"
# shellcheck disable=SC2086 # the flags are lists of words
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/link_idl" "$here/link_idl.c" $cflags $libs -lm \
  -Wl,-rpath,"$libdir"
# the program must use the installed library, not one of the build tree
ldd "$tmp/link_idl" | grep -q "$tmp/prefix/.*libidl" || { ldd "$tmp/link_idl"; exit 1; }
"$tmp/link_idl"
