#!/bin/sh
# Run one libFuzzer target briefly over its seed corpus without writing
# into the source tree: new inputs go to a scratch directory.
set -eu
exe=$1
seeds=$2
secs=${HVSHIM_FUZZ_SECONDS:-10}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/corpus" "$scratch/artifacts"
echo "fuzzing $(basename "$exe") for ${secs}s over $seeds"
"$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" "$seeds"
