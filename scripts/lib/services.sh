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
  as_postgres "$bin/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; die "initdb failed"; }
  # The port was free when picked; another process may bind it first: then pick another.
  local attempt
  for attempt in 1 2 3; do
    port="$(free_port)" || die "no free port for PostgreSQL"
    if as_postgres "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >&2; then
      break
    fi
    grep -q "Address already in use" "$base/log" && [ "$attempt" -lt 3 ] || { cat "$base/log" >&2; die "PostgreSQL did not start"; }
    say "port $port was taken meanwhile; trying another"
  done
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

RSI_EMULATORS="$RSI_ROOT/tests/emulators"

# Wait (bounded) for a line matching PATTERN in FILE; print the first match's last word.
wait_for_line() {
  local file="$1" pattern="$2" what="$3" pid="$4" line
  for _ in $(seq 1 150); do
    line="$(grep -m1 -E "$pattern" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      printf '%s' "${line##*[ :]}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; die "$what exited during start"; }
    sleep 0.1
  done
  cat "$file" >&2
  die "$what did not start within 15 s"
}

# S3: s3rver on a port of its choosing; the access key must be S3RVER (any secret). Started
# through tests/emulators/s3rver.mjs, which makes a PUT answer only once its object is written.
RSI_S3RVER_PID=""
start_s3rver() {
  local base port
  base="$(services_dir)/s3"
  mkdir -p "$base/data"
  [ -f "$RSI_EMULATORS/node_modules/s3rver/bin/s3rver.js" ] || die "s3rver missing: run scripts/setup"
  node --openssl-legacy-provider "$RSI_EMULATORS/s3rver.mjs" "$base/data" >"$base/log" 2>&1 &
  RSI_S3RVER_PID=$!
  port="$(wait_for_line "$base/log" 'listening on' s3rver "$RSI_S3RVER_PID")"
  export RSI_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  say "s3rver on $RSI_TEST_S3_ENDPOINT"
}

stop_s3rver() {
  if [ -n "$RSI_S3RVER_PID" ]; then
    kill "$RSI_S3RVER_PID" 2>/dev/null || true
    wait "$RSI_S3RVER_PID" 2>/dev/null || true
    RSI_S3RVER_PID=""
  fi
}

# SQS: fauxqs (AWS JSON 1.0 protocol) through a loopback-only wrapper.
RSI_FAUXQS_PID=""
start_fauxqs() {
  local base port
  base="$(services_dir)/sqs"
  mkdir -p "$base"
  [ -d "$RSI_EMULATORS/node_modules/fauxqs" ] || die "fauxqs missing: run scripts/setup"
  node "$RSI_EMULATORS/fauxqs.mjs" 0 >"$base/log" 2>&1 &
  RSI_FAUXQS_PID=$!
  port="$(wait_for_line "$base/log" '^ready [0-9]+' fauxqs "$RSI_FAUXQS_PID")"
  export RSI_TEST_SQS_ENDPOINT="http://127.0.0.1:$port"
  say "fauxqs on $RSI_TEST_SQS_ENDPOINT"
}

stop_fauxqs() {
  if [ -n "$RSI_FAUXQS_PID" ]; then
    kill "$RSI_FAUXQS_PID" 2>/dev/null || true
    wait "$RSI_FAUXQS_PID" 2>/dev/null || true
    RSI_FAUXQS_PID=""
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
