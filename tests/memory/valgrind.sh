#!/bin/sh
# valgrind memcheck over the C unit tests, a short Lua training run
# (tests/memory/train_small.lua) and the C functions' part of the bad-input
# sweep (tests/lua/sweep_spec.lua). Fails on any invalid read or write, use of
# uninitialised memory, or block "definitely lost"; system libraries' own
# allocations are suppressed by tests/valgrind.supp. OpenBLAS runs one thread.
#
#   tests/memory/valgrind.sh [BUILD_DIR]      (default: build; from any directory)
#
# A report names the test; rerun it by hand with --track-origins=yes to see
# where an uninitialised value comes from.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
export OPENBLAS_NUM_THREADS=1
log=${TMPDIR:-/tmp}/idl-valgrind.$$
vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions=tests/valgrind.supp --log-file=$log"
failed=0
run() {
    name=$1
    shift
    start=$(date +%s)
    $vg "$@" >"$log.out" 2>&1
    status=$?
    if [ $status -eq 0 ] && [ ! -s "$log" ]; then
        echo "valgrind: $name: clean ($(( $(date +%s) - start )) s)"
    else
        echo "valgrind: $name: FAILED (exit status $status)"
        cat "$log" "$log.out"
        failed=1
    fi
    rm -f "$log" "$log.out"
}
found=0
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    found=1
    run "$(basename "$t")" "$t"
done
[ $found -eq 1 ] || { echo "valgrind: no C tests in $build/tests (build first)"; exit 2; }
run "train_small.lua" "$build/bin/idl" tests/memory/train_small.lua
IDL_SWEEP_ONLY='^idl%.[%w_]+$,^matrix,^rng' run "sweep_spec.lua (C functions)" \
    "$build/bin/idl" "$(command -v busted)" --ignore-lua --output=plainTerminal tests/lua/sweep_spec.lua
exit $failed
