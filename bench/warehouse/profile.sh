#!/usr/bin/env bash
# Where the loader's client CPU goes, step by step: runs load_bench once (1 worker) under
# `perf record`, then sorts the loader process's samples into the load path's steps and scales
# them by the client CPU seconds load_bench measured for the GiB (the table in README.md).
#
#   bench/warehouse/profile.sh [BUILD_DIR] [DATA_DIR]     (RSI_TEST_PG = server; needs perf)
#   bench/warehouse/profile.sh --report PERF_DATA CPU_SECONDS   (sort an existing recording)
set -euo pipefail

report() {
  local data="$1" cpu="$2"
  # The loader runs in load_bench's own (forked) process; psql's samples are left out.
  perf report -i "$data" --no-children --sort comm,dso,sym -g none -q --percent-limit 0 2>/dev/null |
    awk -v cpu="$cpu" '
      $2 != "load_bench" { next }
      {
        pct = $1; sub(/%/, "", pct); dso = $3; sym = "";
        for (i = 5; i <= NF; i++) sym = sym " " $i;
        step = "other (libpq, download thread, bookkeeping)";
        if (dso ~ /isal/) step = "inflate (ISA-L)";
        else if (sym ~ /memchr|find_record|Reader::fill/) step = "record framing (memchr, find_record)";
        else if (sym ~ /read_row/) step = "field splitting and inlined conversion (read_row, one pass)";
        else if (sym ~ /split_record|scan_|set_field|is_null_marker/) step = "field splitting and unescaping";
        else if (sym ~ /convert|read_date|read_time|days_from_civil|trim|replace_invalid|from_chars|valid_date|valid_time|is_digit|find_if|Reader::next|to_chars|strlen|iequals/) step = "value conversion (COPY rules)";
        else if (sym ~ /append_pg_binary_row|put<|pg_days|pg_micros|put_numeric|_Function_handler|put_sized/) step = "binary COPY encoding";
        else if (sym ~ /memmove|memcpy/) step = "memory copies (libc memmove/memcpy)";
        else if (dso == "[kernel.kallsyms]" && sym ~ /copy_from_iter|tcp|softirq|ip_|skb|__send|sock|net_/) step = "kernel: socket send (COPY data)";
        else if (dso == "[kernel.kallsyms]") step = "kernel: other (file reads, scheduling)";
        share[step] += pct; total += pct;
      }
      END {
        for (step in share) printf "| %s | %.1f %% | %.2f |\n", step, share[step] / total * 100, share[step] / total * cpu;
      }' | sort -t'|' -k4 -rn
  echo "| total | 100 % | $cpu |"
}

if [ "${1:-}" = --report ]; then
  report "$2" "$3"
  exit 0
fi

build="${1:-build}"
data="${2:-/tmp/wh-bench}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
perf record -F 999 -o "$out/perf.data" "$build/bench/warehouse/load_bench" --dir "$data" --runs 1 \
  --workers 1 | tee "$out/bench.txt"
# Client CPU seconds of the measured load ("ours" row: workers run loader seconds MiB/s CPU RSS).
cpu="$(awk '$3 == "ours" { print $6; exit }' "$out/bench.txt")"
echo
echo "| step | share | CPU-s per GiB |"
echo "|---|---:|---:|"
report "$out/perf.data" "$cpu"
