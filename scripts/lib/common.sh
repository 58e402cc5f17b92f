# Shared by the scripts: repository root, build directories, logging.
# shellcheck shell=bash
RSI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RSI_BUILD_DIR="${RSI_BUILD_DIR:-$RSI_ROOT/build}"
RSI_JOBS="${RSI_JOBS:-2}"

# Each line carries the seconds since the script started, so a slow step shows in CI's log.
say() { printf '==> [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Configure (once) and build one build tree: rsi_build DIR [cmake options...]
# RSI_BUILD_TARGETS (space-separated) limits the build to those targets. The trees build as
# unity builds (eight sources of a target compiled as one): the headers and templates every file
# shares are compiled once per batch, which takes 40 % off a build from scratch (what CI and a
# new machine pay); a one-file change recompiles its batch. RSI_PCH=ON (set by .ci/run) adds
# precompiled headers, which take about 30 % more off a build from scratch but bypass ccache.
rsi_build() {
  local dir="$1"; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$RSI_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON \
      -DRSI_PCH="${RSI_PCH:-OFF}" "$@" >&2
  fi
  local targets=()
  if [ -n "${RSI_BUILD_TARGETS:-}" ]; then
    read -r -a targets <<<"$RSI_BUILD_TARGETS"
    targets=(--target "${targets[@]}")
  fi
  cmake --build "$dir" -j "$RSI_JOBS" "${targets[@]}" >&2
}
