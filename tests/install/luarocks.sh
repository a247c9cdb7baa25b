#!/bin/sh
# `luarocks make` of idl-dev-1.rockspec into a temporary tree, from a copy of
# the sources (LuaRocks builds in ./build.luarocks), then require "idl" from
# a plain lua5.4 with the tree's paths. Usage: luarocks.sh SOURCE_DIR
set -eu
src=$1
command -v luarocks >/dev/null || { echo "luarocks.sh: luarocks not found (Debian package: luarocks)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idl-rock.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
cp -R "$src/CMakeLists.txt" "$src/idl-dev-1.rockspec" "$src/engine" "$src/lua" "$tmp/src/"
export HOME="$tmp/home" CMAKE_BUILD_PARALLEL_LEVEL=2
rocks="luarocks --lua-version=5.4 --tree=$tmp/tree"
(cd "$tmp/src" && $rocks make idl-dev-1.rockspec >"$tmp/make.log" 2>&1) || { tail -n 40 "$tmp/make.log"; exit 1; }
grep -v '^$' "$tmp/make.log" | tail -n 1
[ -x "$tmp/tree/bin/idl" ] || { echo "luarocks.sh: the idl executable is not in the tree's bin"; exit 1; }
eval "$($rocks path)"
TREE="$tmp/tree" lua5.4 -e '
  local idl = require "idl"
  assert(package.searchpath("idl", package.path):find(os.getenv("TREE"), 1, true), "idl not from the tree")
  assert(package.searchpath("idl.core", package.cpath):find(os.getenv("TREE"), 1, true), "idl.core not from the tree")
  local ms = require "idl.model_selection"
  local X = idl.randn(12, 2, idl.rng(1))
  local y = X * idl.from_table{{1}, {2}}
  local scores = ms.cross_val_score(idl.LinearRegression{}, X, y, {cv = 3})
  assert(#scores == 3 and math.abs(scores[1] - 1) < 1e-12)
  print("lua5.4: require \"idl\" from the tree: " .. package.searchpath("idl.core", package.cpath))
' 2>&1
