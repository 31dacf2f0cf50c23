#!/usr/bin/env bash
# Installs what building and testing gort needs on Debian (bookworm): CMake,
# Ninja, GCC (whose libgcc-dev also ships libbacktrace and the ASan, UBSan
# and TSan run-time libraries), GoogleTest, zlib (runtime/pprof gzips its
# profiles), gdb (tests/gdb) and Go 1.19, the oracle: the trace and pprof
# tests open gort's output with `go tool trace` and `go tool pprof` (those
# tests, and tests/gdb, skip where their tool is missing). Idempotent: when
# every package is already installed it prints nothing and touches nothing.
#
#   scripts/deps.sh            the build and test dependencies
#   scripts/deps.sh PKG...     those plus extra Debian packages (bench.sh
#                              passes its baselines' libraries)
#   scripts/deps.sh --arm64 [PKG...]
#                              also the arm64 cross toolchain and qemu-user
#                              (test.sh's arm64 step; dpkg learns the arm64
#                              architecture's package lists), and qemu registered
#                              with binfmt_misc so that an arm64 test that
#                              re-executes itself runs under qemu again
set -euo pipefail

arm64=false
if [ "${1:-}" = --arm64 ]; then
  arm64=true
  shift
fi
packages=(cmake ninja-build g++ libgtest-dev googletest util-linux gdb zlib1g-dev golang-1.19-go "$@")
$arm64 && packages+=(g++-aarch64-linux-gnu qemu-user-static)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

# Registers qemu-aarch64 with binfmt_misc (what systemd-binfmt does with the
# rule qemu-user-static ships) unless a handler is there already.
register_qemu_binfmt() {
  local bf=/proc/sys/fs/binfmt_misc rule=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -e "$bf/qemu-aarch64" ] && return 0
  [ -e "$bf/register" ] || "${sudo[@]}" mount -t binfmt_misc binfmt_misc "$bf" || {
    echo "deps.sh: cannot mount binfmt_misc: arm64 tests that re-execute themselves will fail" >&2
    return 1
  }
  echo "deps.sh: registering $rule with binfmt_misc"
  "${sudo[@]}" sh -c "cat '$rule' > '$bf/register'"
}

missing=()
for p in "${packages[@]}"; do
  # dpkg-query reports "install ok installed" only for a fully installed package.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "deps.sh: missing ${missing[*]} and no apt-get here; install them by hand" >&2
    exit 1
  fi
  if [ ${#sudo[@]} -gt 0 ] && ! command -v sudo >/dev/null; then
    echo "deps.sh: need root (or sudo) to install ${missing[*]}" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# test.sh's arm64 step downloads (never installs: arm64's libc beside the
# cross toolchain's would take over qemu's library lookups) zlib1g-dev:arm64,
# which needs arm64 among dpkg's architectures and its package lists.
if $arm64 && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "deps.sh: adding the arm64 architecture (package lists only)"
  "${sudo[@]}" dpkg --add-architecture arm64
  "${sudo[@]}" apt-get update -qq
fi
if $arm64; then register_qemu_binfmt; fi
