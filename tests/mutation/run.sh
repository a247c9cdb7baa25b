#!/usr/bin/env bash
# tests/mutation/run.sh [ID...]: the mutation suite (tests/mutation/README.md).
#
# Copies the tracked files of this tree (as they are in the working tree) to a
# scratch tree, builds it once in a scratch build directory, then for each
# mutation of tests/mutation/mutations.lua (or only the IDs given): applies it,
# rebuilds what changed (incremental make: only for C files), runs the tests
# named by the mutation (ctest -R), and puts the original file back. A mutation
# is killed when one of its tests fails; the run fails when a mutation
# survives, when an original text is no longer found (the list must follow the
# code), when a mutated tree does not build, or when the tests of a mutation
# do not pass on the unmutated tree. Prints a table and "N killed, M survived".
#
# Environment: IDL_MUTATION_DIR (scratch directory, default build-mutation in
# this tree; reused between runs), IDL_MUTATION_JOBS (ctest/make jobs, 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${IDL_MUTATION_DIR:-$root/build-mutation}
jobs=${IDL_MUTATION_JOBS:-2}
src=$scratch/src
bld=$src/build # laid out as a normal tree: bare busted in src finds idl.core in build/lib
lua=$(command -v lua5.4 || command -v lua)
t_start=$(date +%s)

# 1. the list must match the code: every original text found exactly once
"$lua" "$here/apply.lua" "$root" --check

# 2. the scratch tree: tracked files, copied only when they differ (so the
#    incremental build recompiles only what changed since the last run)
mkdir -p "$src" "$bld"
git -C "$root" ls-files -z | while IFS= read -r -d '' f; do
  [ -f "$root/$f" ] || continue
  if ! cmp -s "$root/$f" "$src/$f"; then
    mkdir -p "$(dirname "$src/$f")"
    cp "$root/$f" "$src/$f"
  fi
done

if [ ! -f "$bld/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDL_WERROR=OFF >"$scratch/configure.log" 2>&1 ||
    { cat "$scratch/configure.log"; echo "mutation: configuring the scratch build failed" >&2; exit 1; }
fi
# build [TESTS]: everything, or only what the tests TESTS (a ctest -R regex of
# names, "lua/x|c/test_y") run: the idl executable and the idl.core module for
# the specs, the test's executable for a C test; make rebuilds whatever else
# is out of date at the next full build
build() {
  local targets=() t
  if [ $# -gt 0 ]; then
    IFS='|' read -r -a names <<<"$1"
    for t in "${names[@]}"; do
      case $t in
        c/*) targets+=(--target "${t#c/}") ;;
        *) targets+=(--target idl --target idl_core_module) ;;
      esac
    done
  fi
  cmake --build "$bld" -j "$jobs" "${targets[@]}" >"$scratch/build.log" 2>&1
}
build || { tail -40 "$scratch/build.log"; echo "mutation: the unmutated scratch tree does not build" >&2; exit 1; }

# 3. which mutations: all, or the IDs given
mapfile -t rows < <("$lua" "$here/apply.lua" "$src" --list)
if [ $# -gt 0 ]; then
  selected=()
  for id in "$@"; do
    found=
    for r in "${rows[@]}"; do [ "${r%%$'\t'*}" = "$id" ] && { selected+=("$r"); found=1; }; done
    [ -n "$found" ] || { echo "mutation: no mutation '$id'" >&2; exit 2; }
  done
  rows=("${selected[@]}")
fi

run_tests() { # regex -> status of ctest on those tests (fails when none matches)
  local n
  n=$(cd "$bld" && ctest -N -R "$1" | sed -n 's/^Total Tests: //p')
  [ "${n:-0}" -gt 0 ] || { echo "mutation: no test matches '$1'" >&2; return 3; }
  (cd "$bld" && ctest -j "$jobs" -R "$1" >"$scratch/ctest.log" 2>&1)
}

# 4. the tests of the mutations pass on the unmutated tree
regexes=$(printf '%s\n' "${rows[@]}" | cut -f3 | sort -u | paste -sd'|')
if ! run_tests "$regexes"; then
  cat "$scratch/ctest.log"
  echo "mutation: the tests of the mutations fail on the unmutated tree" >&2
  exit 1
fi

killed=0 survived=0 broken=0 dirty=
printf '%-40s %-28s %-44s %-9s %s\n' mutation file "killed by (ctest -R)" result seconds
for r in "${rows[@]}"; do
  IFS=$'\t' read -r id file tests <<<"$r"
  t0=$(date +%s)
  cp "$src/$file" "$scratch/original"
  "$lua" "$here/apply.lua" "$src" "$id"
  result=killed
  # a C file mutated, or restored after the previous mutation: rebuild
  case $file in *.c | *.h) dirty=1 ;; esac
  if [ -n "$dirty" ]; then build "$tests" || result=BUILD-FAILED; fi
  dirty=
  if [ $result = killed ]; then
    if run_tests "$tests"; then result=SURVIVED; fi
  fi
  # the original back, with a new mtime: make recompiles it at the next build
  cat "$scratch/original" >"$src/$file"
  case $file in *.c | *.h) dirty=1 ;; esac
  case $result in
    killed) killed=$((killed + 1)) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    *) broken=$((broken + 1)) ;;
  esac
  printf '%-40s %-28s %-44s %-9s %d\n' "$id" "$file" "$tests" "$result" $(($(date +%s) - t0))
done
# leave the scratch build unmutated for the next run
build || true
"$lua" "$here/apply.lua" "$src" --documented
echo "$killed killed, $survived survived$([ $broken -gt 0 ] && echo ", $broken did not build") ($(($(date +%s) - t_start)) s)"
[ $survived -eq 0 ] && [ $broken -eq 0 ]
