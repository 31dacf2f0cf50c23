#!/usr/bin/env bash
# Installs what building and testing gort needs on Debian (bookworm): CMake,
# Ninja, GCC (whose libgcc-dev also ships libbacktrace and the ASan, UBSan
# and TSan run-time libraries) and GoogleTest. Idempotent: when every package
# is already installed it prints nothing and touches nothing.
#
#   scripts/deps.sh            the build and test dependencies
#   scripts/deps.sh PKG...     those plus extra Debian packages (bench.sh
#                              passes golang-1.19-go)
set -euo pipefail

packages=(cmake ninja-build g++ libgtest-dev googletest util-linux "$@")

missing=()
for p in "${packages[@]}"; do
  # dpkg-query reports "install ok installed" only for a fully installed package.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "deps.sh: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
