#!/usr/bin/env bash
# tests/fuzz/smoke.sh — CI's fuzzing stage: installs clang if missing,
# configures a separate build with it available, builds the libFuzzer
# harnesses (`make fuzz`) and runs each for FUZZ_TIME seconds (default 45)
# on its seed corpus. Fails on any crash, leak, timeout or failed check;
# the failing input is then in <build>/fuzz/artifacts/.
#
#   tests/fuzz/smoke.sh [BUILD-DIR]     (default: <top>/build-fuzz)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build-fuzz}
time_each=${FUZZ_TIME:-45}

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz smoke: installing clang"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq clang >/dev/null
fi

[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
rm -rf "$build" && mkdir -p "$build" && cd "$build"
"$top/configure" -q FUZZ_CC="${FUZZ_CC:-clang}"
make -j"$(nproc)" fuzz FUZZ_TIME="$time_each"
