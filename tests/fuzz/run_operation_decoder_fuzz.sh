#!/usr/bin/env bash
# Builds the Blueprint operation decoder fuzz target (libFuzzer + ASan + UBSan) and runs it for
# a bounded time. Exit status 0: no crash found; otherwise libFuzzer's, with the crashing input
# saved in the build directory.
#
#   tests/fuzz/run_operation_decoder_fuzz.sh [seconds=60] [build_dir=build-fuzz]
#
# Needs clang >= 16 with its compiler-rt (Debian: clang-16 libclang-rt-16-dev), libpq-dev,
# nlohmann-json3-dev, libfmt-dev and libspdlog-dev. Debian 12's clang 14 cannot build this: with
# libstdc++ 12 it has no std::expected (rsi::Result) because it reports __cpp_concepts 201907,
# and raising that macro only moves the failure to "attempt to use a deleted function" (clang
# 14 lacks conditionally trivial special members, P0848); libc++ 14 (libc++-14-dev) has no
# <expected> at all (it arrived in libc++ 16). Clang 16 has P0848 but still reports the old
# __cpp_concepts, so the script raises the macro for it. Set RSI_FUZZ_CXX to pick another clang++.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-60}"
out="${2:-$root/build-fuzz}"

cxx="${RSI_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for candidate in clang++-19 clang++-18 clang++-17 clang++-16; do
    if command -v "$candidate" >/dev/null; then
      cxx="$candidate"
      break
    fi
  done
fi
if [ -z "$cxx" ]; then
  echo "run_operation_decoder_fuzz: needs clang++ >= 16 (apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 2
fi

flags=(-std=c++2b -O1 -g -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root/src" -I/usr/include/postgresql)
concepts="$("$cxx" -std=c++2b -dM -E -x c++ /dev/null | awk '/__cpp_concepts/ {print $3}')"
if [ "${concepts%L}" -lt 202002 ]; then
  flags+=(-D__cpp_concepts=202002L -Wno-builtin-macro-redefined -Wno-macro-redefined)
fi

mkdir -p "$out/operation-corpus" "$out/operation-seeds"
"$cxx" "${flags[@]}" -o "$out/operation_decoder_fuzz" \
  "$root/tests/fuzz/operation_decoder_fuzz.cpp" \
  "$root"/src/core/{operation,json_fields,table_name,text,file_pointer}.cpp \
  "$root"/src/common/{log,clock,utf8,uuid}.cpp \
  "$root/src/pg/connection.cpp" \
  "$root"/src/warehouse/{ddl,migration_plan}.cpp \
  "$root/src/tsv/column.cpp" \
  -lpq -lspdlog -lfmt -luuid

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

cd "$out"
exec ./operation_decoder_fuzz -max_total_time="$seconds" -max_len=8192 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 operation-corpus operation-seeds
