#!/usr/bin/env bash
# Runs gort's benchmark programs next to their Go anchors and writes
# BENCHMARKS.md with the ratios gort/Go.
#
#   scripts/bench.sh                 every workload of <shared>/anchors/go
#   scripts/bench.sh spawn skynet    only these (their sections of
#                                    BENCHMARKS.md are replaced, the rest kept)
#
# For each workload, GOMAXPROCS=1 and 2, it runs the Go anchor and gort's
# program alternately (which one goes first alternates too) for a number of
# rounds and reports the median of each metric. The anchors come from the
# shared folder beside the repository checkout (<repo>/../shared/anchors/go)
# and are built with Go 1.19 from Debian (installed here if missing); gort's
# programs are built in Release from bench/.
#
# Environment:
#   GORT_BENCH_ROUNDS   rounds per workload and P count (default 5)
#   GORT_BENCH_PROCS    GOMAXPROCS values (default "1 2")
#   GORT_BENCH_BUILD    build folder (default <repo>/build-bench)
#   GORT_BENCH_TIMEOUT  seconds one run may take (default 300)
#   GORT_SHARED         the shared folder (default <repo>/../shared)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${GORT_SHARED:-$repo/../shared}
anchors=$shared/anchors/go
build=${GORT_BENCH_BUILD:-$repo/build-bench}
rounds=${GORT_BENCH_ROUNDS:-5}
procs=${GORT_BENCH_PROCS:-1 2}
run_timeout=${GORT_BENCH_TIMEOUT:-300}
goroot=/usr/lib/go-1.19
report=$repo/scripts/benchreport.py

if [ ! -d "$anchors" ]; then
  echo "bench.sh: no Go anchors at $anchors (the shared folder must sit beside the repository, or set GORT_SHARED)" >&2
  exit 1
fi

# libabsl-dev and libboost1.81-dev: the maps workload's baselines.
"$repo/scripts/deps.sh" python3 time libabsl-dev libboost1.81-dev

# Every workload the anchors define, in the report's order.
all=$(python3 "$report" --list)
if [ $# -gt 0 ]; then
  workloads=("$@")
  for w in "${workloads[@]}"; do
    grep -qx "$w" <<<"$all" || { echo "bench.sh: unknown workload '$w' (known: $(echo $all))" >&2; exit 2; }
  done
else
  read -r -a workloads <<<"$(echo $all)"
fi

mkdir -p "$build"
raw=$build/results.tsv
: >"$raw"

echo "== building the Go anchors"
(cd "$anchors" && GOCACHE=$build/gocache GOPATH=$build/gopath GOFLAGS=-mod=mod \
  "$goroot/bin/go" build -o "$build/anchors/" ./...)

echo "== building gort's benchmark programs (Release)"
cmake -S "$repo" -B "$build/gort" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGORT_BUILD_TESTS=OFF -DGORT_BUILD_EXAMPLES=OFF -DGORT_BUILD_BENCH=ON >"$build/configure.log"
targets=()
for w in "${workloads[@]}"; do
  [ -f "$repo/bench/$w.cpp" ] && targets+=("$w")
done
if [ ${#targets[@]} -gt 0 ]; then
  cmake --build "$build/gort" -j 2 --target "${targets[@]}"
fi

# run_one WORKLOAD IMPL P ROUND CONFIG ENV ARGS...: one run (IMPL go, gort,
# or baseline:LABEL: gort's program with that baseline's flags among ARGS);
# appends its result line.
run_one() {
  local w=$1 impl=$2 p=$3 round=$4 config=$5 envs=$6
  shift 6
  local bin=$build/anchors/$w
  [ "$impl" != go ] && bin=$build/gort/bench/$w
  local out
  read -r -a envs <<<"$envs"
  # GNU time adds the run's peak RSS: the program's line, then its own.
  if out=$(env GOMAXPROCS="$p" "${envs[@]}" /usr/bin/time -f "peak_rss_kib=%M" timeout "$run_timeout" "$bin" "$@" \
    </dev/null 2>&1 | tail -n 2 | tr '\n' ' '); then
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$config" "$p" "$impl" "$round" "$out" >>"$raw"
  else
    printf '%s\t%s\t%s\t%s\t%s\tFAILED %s\n' "$w" "$config" "$p" "$impl" "$round" "$out" >>"$raw"
  fi
  printf '  %-10s %-12s P=%s %-4s round %s: %s\n' "$w" "$config" "$p" "$impl" "$round" "$out"
}

for w in "${workloads[@]}"; do
  have_gort=0
  [ -x "$build/gort/bench/$w" ] && [ -f "$repo/bench/$w.cpp" ] && have_gort=1
  if [ $have_gort = 0 ]; then
    echo "== $w: gort program not yet implemented (bench/$w.cpp)"
    printf '%s\t-\t-\tgort\t0\tNOT IMPLEMENTED\n' "$w" >>"$raw"
    continue
  fi
  echo "== $w"
  # One line per configuration: a name and the flags both programs get.
  while IFS=$'\t' read -r config flags envs bases; do
    [ "$flags" = - ] && flags=
    [ "$envs" = - ] && envs=
    [ "$bases" = - ] && bases=
    read -r -a args <<<"$flags"
    IFS='|' read -r -a baselines <<<"$bases"
    for p in $procs; do
      for ((r = 1; r <= rounds; r++)); do
        if ((r % 2)); then order=(go gort); else order=(gort go); fi
        for impl in "${order[@]}"; do
          run_one "$w" "$impl" "$p" "$r" "$config" "$envs" "${args[@]}"
        done
        for b in "${baselines[@]}"; do
          read -r -a baseArgs <<<"${b#*=}"
          run_one "$w" "baseline:${b%%=*}" "$p" "$r" "$config" "$envs" "${args[@]}" "${baseArgs[@]}"
        done
      done
    done
  done < <(python3 "$report" --configs "$w")
done

python3 "$report" --write "$repo/BENCHMARKS.md" --rounds "$rounds" --go "$("$goroot/bin/go" version)" \
  "$raw" "${workloads[@]}"
echo "== wrote $repo/BENCHMARKS.md"
