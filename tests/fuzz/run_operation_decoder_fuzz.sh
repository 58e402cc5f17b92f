#!/usr/bin/env bash
# Builds the Blueprint operation decoder fuzz target (libFuzzer + ASan + UBSan) and runs it
# for a bounded time. Exit status 0: no crash found; otherwise libFuzzer's, with the crashing
# input saved in the build directory. Compiler requirements: tests/fuzz/lib.sh.
#
#   tests/fuzz/run_operation_decoder_fuzz.sh [--build-only|--run-only] [seconds=60] [build_dir=build-fuzz]
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/tests/fuzz/lib.sh"
fuzz_args "$@"
out="$fuzz_dir"

if [ "$fuzz_mode" != run ]; then
  fuzz_build run_operation_decoder_fuzz operation_decoder_fuzz
  mkdir -p "$out/operation-corpus" "$out/operation-seeds"

  # Seeds: the migration bodies Blueprint really sent (../shared/spec), with selector bytes for a
  # create and an alter, and a few hand-made steps with options and hostile names.
  spec="$root/../shared/spec/blueprint"
  index=0
  for http in "$spec"/migration_*.http; do
    [ -f "$http" ] || continue
    body="$(awk 'body {print} /^\r?$/ {body=1}' "$http")"
    for selector in '\x00' '\x06'; do
      printf "$selector%s" "$body" > "$out/operation-seeds/spec-$index"
      index=$((index + 1))
    done
  done
  printf '\x06%s' '[{"Action":"add","Name":"it'"'"'s;x","ActionMetadata":{"column_options":"(32) distkey encode zstd not null default '"'"'n/a'"'"'","column_type":"varchar","inbound":"a","supporting_columns":""},"Version":1,"Ordering":0},{"Action":"rename","Name":"channel","ActionMetadata":{"new_outbound":"naïve ☃"},"Version":1,"Ordering":1},{"Action":"delete","Name":"device_id","ActionMetadata":{},"Version":1,"Ordering":2}]' \
    > "$out/operation-seeds/hand-alter"
  printf '\x00%s' '[{"Action":"add","Name":"t","ActionMetadata":{"column_options":" sortkey","column_type":"f@timestamp@unix","inbound":"t","supporting_columns":""},"Version":0,"Ordering":0},{"Action":"drop_event","Name":"","ActionMetadata":{"reason":"x"},"Version":0,"Ordering":1}]' \
    > "$out/operation-seeds/hand-create"
fi

[ "$fuzz_mode" = build ] || fuzz_run "$out" operation_decoder_fuzz "$fuzz_seconds" 8192 operation-corpus operation-seeds
