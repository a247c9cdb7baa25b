#!/bin/sh
# Runs one libFuzzer harness for a fixed time and fails on any crash, leak,
# sanitizer report or timeout (libFuzzer's exit status):
#   run.sh FUZZER SEEDS WORKDIR SECONDS [libFuzzer options...]
# New inputs go to WORKDIR/corpus (kept between runs), a crashing input to
# WORKDIR/artifacts/ (reproduce with: FUZZER WORKDIR/artifacts/crash-...).
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
