#!/usr/bin/env bash
# Builds and runs every gort test, the way CI does (.ci/run calls this):
#
#   normal   RelWithDebInfo tree with tests, benchmarks and examples; ctest
#   asan     -DGORT_SANITIZE=address (ASan+UBSan), tests only; ctest
#   tsan     -DGORT_SANITIZE=thread, tests only; ctest under `setarch -R`
#   lto      link-time optimisation (CMAKE_INTERPROCEDURAL_OPTIMIZATION), tests
#            only; ctest. The optimiser then sees the runtime whole: a store
#            only asm reads, a frame a skip count relies on, can vanish
#   install  `cmake --install` of the normal tree into a temporary prefix, then
#            tests/install built against it with find_package(gort), again
#            with add_subdirectory(<repo>) under link-time optimisation (which
#            sees the whole runtime at once), and with add_subdirectory and
#            GORT_SANITIZE=thread alone (the sanitizer reaches the consumer
#            as a usage requirement); all three consumers are run
#   arm64    the normal tree's tests cross-built for linux/arm64
#            (cmake/aarch64-linux-gnu.cmake; GoogleTest built for arm64 from
#            Debian's source package once, in -arm64-gtest) and run by ctest
#            under qemu-user; tests qemu cannot run faithfully skip, saying why
#
# Usage: scripts/test.sh [normal|asan|tsan|lto|install|arm64 ...]   (default: all six)
# Environment:
#   GORT_BUILD_PREFIX  build trees are $GORT_BUILD_PREFIX, -asan, -tsan, -lto, -install,
#                      -arm64 (default <repo>/build-test)
#   GORT_JOBS          parallel compile and test jobs (default 2)
#   GORT_TEST_TIMEOUT  seconds one test may run (default 120)
#   GORT_CTEST_ARGS    extra ctest arguments, e.g. "-R Chan"
#
# Ends with one line "total: N passed, N failed"; exits non-zero if any test,
# build or step failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${GORT_BUILD_PREFIX:-$repo/build-test}
jobs=${GORT_JOBS:-2}
test_timeout=${GORT_TEST_TIMEOUT:-120}
read -r -a ctest_extra <<<"${GORT_CTEST_ARGS:-}"

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(normal asan tsan lto install arm64)
deps=()
for s in "${steps[@]}"; do
  case $s in
    normal | asan | tsan | lto | install) ;;
    arm64) deps=(--arm64) ;;
    *) echo "test.sh: unknown step '$s'" >&2; exit 2 ;;
  esac
done

"$repo/scripts/deps.sh" "${deps[@]}" || { echo "test.sh: scripts/deps.sh failed" >&2; exit 1; }

total_pass=0
total_fail=0
summary=()
script_start=$SECONDS

note() { printf '\n==== %s\n' "$*"; }

# record NAME PASSED FAILED SECONDS DETAIL
record() {
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  summary+=("$(printf '%-8s %4d passed %4d failed %5ds  %s' "$1" "$2" "$3" "$4" "$5")")
}

# run_logged LOG CMD...: runs CMD with its output in LOG; on failure shows the
# end of the log (the compiler's or CMake's complaint) and returns non-zero.
run_logged() {
  local log=$1
  shift
  if "$@" >"$log" 2>&1; then return 0; fi
  echo "---- failed: $* (last 150 lines of $log)"
  tail -n 150 "$log"
  return 1
}

# TSan maps its shadow memory at fixed addresses; with the high mmap
# randomisation of recent kernels an executable can land on them ("unexpected
# memory mapping"). Running without address randomisation avoids that; the
# personality is inherited, so it covers gtest's test discovery at build time
# and the death tests' re-executed children as well.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  norandom=(setarch "$(uname -m)" -R)
fi

# tree NAME DIR CMAKE_ARGS...: configure, build, ctest; records the result.
tree() {
  local name=$1 dir=$2
  shift 2
  local wrap=()
  [ "$name" = tsan ] && wrap=("${norandom[@]}")
  local t0=$SECONDS logs=$dir/test-logs
  mkdir -p "$logs"
  note "$name: configure and build in $dir"
  if ! run_logged "$logs/configure.log" cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGORT_TEST_TIMEOUT="$test_timeout" "$@"; then
    record "$name" 0 1 $((SECONDS - t0)) "configure failed"
    return
  fi
  if ! run_logged "$logs/build.log" "${wrap[@]}" cmake --build "$dir" -j "$jobs"; then
    record "$name" 0 1 $((SECONDS - t0)) "build failed"
    return
  fi
  echo "built in $((SECONDS - t0))s"
  note "$name: ctest"
  local out="$logs/ctest.log"
  (cd "$dir" && "${wrap[@]}" ctest --output-on-failure --timeout "$test_timeout" -j "$jobs" \
    "${ctest_extra[@]}") 2>&1 | tee "$out"
  local line passed failed ran
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    record "$name" 0 1 $((SECONDS - t0)) "ctest ran no test"
    return
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  ran=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((ran - failed))
  record "$name" "$passed" "$failed" $((SECONDS - t0)) "$line"
}

# install_consumers: find_package and add_subdirectory consumers of gort.
install_consumers() {
  local base=$prefix-install t0=$SECONDS mode dir pass=0 fail=0
  local inst=$base/prefix
  note "install: cmake --install $prefix into $inst"
  rm -rf "$base"
  mkdir -p "$base"
  if [ ! -f "$prefix/build.ninja" ]; then
    record install 0 1 0 "no normal tree at $prefix to install (run the normal step)"
    return
  fi
  if ! run_logged "$base/install.log" cmake --install "$prefix" --prefix "$inst"; then
    record install 0 1 $((SECONDS - t0)) "cmake --install failed"
    return
  fi
  for mode in find_package add_subdirectory add_subdirectory_tsan; do
    dir=$base/$mode
    local how=(-DCMAKE_PREFIX_PATH="$inst") wrap=()
    case $mode in
      add_subdirectory) how=(-DGORT_SOURCE_DIR="$repo" -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON) ;;
      add_subdirectory_tsan) how=(-DGORT_SOURCE_DIR="$repo" -DGORT_SANITIZE=thread) wrap=("${norandom[@]}") ;;
    esac
    note "install: $mode consumer in $dir"
    if run_logged "$dir.configure.log" cmake -S "$repo/tests/install" -B "$dir" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "${how[@]}" &&
      run_logged "$dir.build.log" cmake --build "$dir" -j "$jobs" &&
      run_logged "$dir.run.log" "${wrap[@]}" timeout "$test_timeout" "$dir/consumer"; then
      cat "$dir.run.log"
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
    fi
  done
  record install $pass $fail $((SECONDS - t0)) "find_package, add_subdirectory (LTO) and add_subdirectory (TSan) consumers"
}

# arm64_zlib DIR: zlib for arm64 in DIR (usr/include, usr/lib/aarch64-linux-gnu),
# unpacked from Debian's zlib1g-dev:arm64 and not installed: installing it
# brings arm64's libc into the host's library paths, where qemu's loader then
# mixes it with the cross toolchain's (the tests hang). Kept between runs.
arm64_zlib() {
  local dir=$1
  [ -f "$dir/usr/lib/aarch64-linux-gnu/libz.a" ] && return 0
  note "arm64: zlib1g-dev:arm64 unpacked into $dir"
  mkdir -p "$dir"
  (cd "$dir" && apt-get download -qq zlib1g-dev:arm64) && dpkg-deb -x "$dir"/zlib1g-dev_*_arm64.deb "$dir"
}

# arm64_gtest DIR: GoogleTest cross-built for arm64 and installed in DIR
# (Debian packages it for the host only); kept between runs.
arm64_gtest() {
  local dir=$1
  [ -f "$dir/lib/cmake/GTest/GTestConfig.cmake" ] && return 0
  local log=$dir-build/gtest.log
  note "arm64: GoogleTest from /usr/src/googletest into $dir"
  mkdir -p "$dir-build"
  run_logged "$log" cmake -S /usr/src/googletest -B "$dir-build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    --toolchain "$repo/cmake/aarch64-linux-gnu.cmake" -DCMAKE_INSTALL_PREFIX="$dir" &&
    run_logged "$log" cmake --build "$dir-build" -j "$jobs" --target install
}

for s in "${steps[@]}"; do
  case $s in
    normal) tree normal "$prefix" ;;
    asan) tree asan "$prefix-asan" -DGORT_SANITIZE=address -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=OFF ;;
    tsan) tree tsan "$prefix-tsan" -DGORT_SANITIZE=thread -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=OFF ;;
    lto) tree lto "$prefix-lto" -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=OFF ;;
    install) install_consumers ;;
    arm64)
      if ! arm64_zlib "$prefix-arm64-zlib"; then
        record arm64 0 1 0 "zlib for arm64 could not be downloaded"
      elif arm64_gtest "$prefix-arm64-gtest"; then
        tree arm64 "$prefix-arm64" --toolchain "$repo/cmake/aarch64-linux-gnu.cmake" \
          -DGTest_DIR="$prefix-arm64-gtest/lib/cmake/GTest" -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=OFF \
          -DZLIB_INCLUDE_DIR="$prefix-arm64-zlib/usr/include" \
          -DZLIB_LIBRARY="$prefix-arm64-zlib/usr/lib/aarch64-linux-gnu/libz.a"
      else
        record arm64 0 1 0 "GoogleTest for arm64 failed to build"
      fi
      ;;
  esac
done

note "summary ($((SECONDS - script_start))s wall)"
printf '%s\n' "${summary[@]}"
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
