#!/usr/bin/env bash
# Builds gort (Release) and runs the showcase, examples/showcase.cpp: skynet,
# the prime sieve, a select fan-in and timer sleepers, with timings and the
# runtime's counters. Arguments go to the showcase (e.g. -n=100000).
#   GORT_SHOWCASE_BUILD  build folder (default <repo>/build-showcase)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GORT_SHOWCASE_BUILD:-$repo/build-showcase}
"$repo/scripts/deps.sh"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGORT_BUILD_TESTS=OFF -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=ON >/dev/null
echo "building the showcase (Release) in $build ..."
if ! cmake --build "$build" -j 2 --target showcase >"$build/build.log" 2>&1; then
  cat "$build/build.log"
  exit 1
fi
echo
exec "$build/examples/showcase" "$@"
