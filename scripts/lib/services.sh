# Throwaway local services for the tests, on loopback only. Each start_* exports the
# variables the tests read; stop_services stops everything started (call it from a trap).
# shellcheck shell=bash

RSI_SERVICES_DIR=""
RSI_PG_DATA=""

services_dir() {
  if [ -z "$RSI_SERVICES_DIR" ]; then
    RSI_SERVICES_DIR="$(mktemp -d /tmp/rsi-services-XXXXXX)"
    chmod 755 "$RSI_SERVICES_DIR"
  fi
  printf '%s' "$RSI_SERVICES_DIR"
}

# A free TCP port on 127.0.0.1 (nothing answers on it right now).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % 30000) + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s' "$port"
      return 0
    fi
  done
  return 1
}

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || die "PostgreSQL server binaries not found (scripts/setup installs postgresql-15)"
  printf '%s' "$dir"
}

# PostgreSQL refuses to run as root: run it as the package's `postgres` user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local base bin port
  base="$(services_dir)/pg"
  bin="$(pg_bin)"
  mkdir -p "$base"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$base"
  port="$(free_port)" || die "no free port for PostgreSQL"
  as_postgres "$bin/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; die "initdb failed"; }
  as_postgres "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >&2 || { cat "$base/log" >&2; die "PostgreSQL did not start"; }
  RSI_PG_DATA="$base/data"
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -c 'CREATE DATABASE ingester' >&2
  export RSI_TEST_PG="host=127.0.0.1 port=$port user=postgres dbname=ingester"
  export RSI_TEST_PG_DATA="$RSI_PG_DATA"
  export RSI_TEST_PG_BIN="$bin"
  say "PostgreSQL on 127.0.0.1:$port ($RSI_PG_DATA)"
}

stop_postgres() {
  if [ -n "$RSI_PG_DATA" ] && [ -d "$RSI_PG_DATA" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$RSI_PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    RSI_PG_DATA=""
  fi
}

# Every start_* above registers its stop here, in reverse order of starting.
RSI_STOPS=()
start_service() {
  "start_$1"
  RSI_STOPS=("stop_$1" "${RSI_STOPS[@]}")
}

stop_services() {
  local stop
  for stop in "${RSI_STOPS[@]}"; do
    "$stop" || true
  done
  RSI_STOPS=()
  if [ -n "$RSI_SERVICES_DIR" ]; then
    rm -rf "$RSI_SERVICES_DIR"
    RSI_SERVICES_DIR=""
  fi
}
