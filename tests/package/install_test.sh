#!/usr/bin/env bash
# The Debian package from install to purge, on this machine, as root:
#
#   tests/package/install_test.sh BUILD_DIR | PACKAGE.deb
#
# 1. `cpack` in BUILD_DIR (a built release tree) makes rs-ingester_<version>_<arch>.deb (or the
#    package is given, e.g. on a machine that has systemd but no build tree);
# 2. `dpkg -i`: the service user and group, /var/lib/rs-ingester, the settings readable by the
#    service's group only, a control token, no service enabled or started; the installed units
#    pass `systemd-analyze verify`;
# 3. the embedded unit, rs-ingester.service, runs on a data directory: with systemd as PID 1,
#    `systemctl start`; elsewhere (a container, a VM without systemd) its ExecStart line expanded
#    as systemd would (EnvironmentFile, %d = a credentials directory holding the token) and run
#    directly as the service user, without the unit's sandbox;
# 4. `rs_ingester load` of one file as the service user, `rs_ingester wait`, and the rows counted
#    in the warehouse; /metrics answers with the token only; the service stops cleanly (exit 0);
# 5. `dpkg --purge`: no file of the package, no setting, no data, no user or group left.
#
# It refuses to run where rs-ingester is installed or its user exists (it would purge them).
set -euo pipefail

target="$(realpath "${1:?usage: $0 BUILD_DIR | PACKAGE.deb}")"
unit=rs-ingester.service
table=package_check
rows=250

say() { printf 'install_test: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs and purges a package)"
if dpkg-query -W -f='${Status}' rs-ingester 2>/dev/null | grep -q 'installed\|config-files'; then
  fail "rs-ingester is installed here; purge it first (dpkg --purge rs-ingester)"
fi
for leftover in /etc/rs-ingester /var/lib/rs-ingester; do
  [ ! -e "$leftover" ] || fail "$leftover exists; remove it first"
done
! getent passwd rs-ingester >/dev/null || fail "the user rs-ingester exists; remove it first"

if [ "$(ps -p 1 -o comm=)" = systemd ] && [ -d /run/systemd/system ]; then
  with_systemd=1
else
  with_systemd=0
fi

work="$(mktemp -d)"
chmod 755 "$work"
installed=0
runner=""
cleanup() {
  local rc=$?
  if [ -n "$runner" ]; then
    kill -TERM "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  if [ "$installed" -eq 1 ]; then
    if [ "$with_systemd" -eq 1 ]; then
      [ "$rc" -eq 0 ] || journalctl -u "$unit" --no-pager -n 40 >&2 || true
      systemctl stop "$unit" 2>/dev/null || true
    fi
    [ "$rc" -eq 0 ] || { [ ! -f "$work/run.log" ] || tail -n 40 "$work/run.log" >&2; }
    dpkg --purge rs-ingester >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -d "$target" ]; then
  say "cpack in $target"
  (cd "$target" && rm -f rs-ingester_*.deb && cpack -G DEB >"$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log" >&2; fail "cpack"; }
  deb="$(ls "$target"/rs-ingester_*.deb)"
else
  deb="$target"
fi
mapfile -t package_paths < <(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' | grep -v '/$')

say "dpkg -i $(basename "$deb")"
installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i"; }

# The service user, its directory, the settings' permissions, the token; nothing started.
[ "$(getent passwd rs-ingester | cut -d: -f6,7)" = "/var/lib/rs-ingester:/usr/sbin/nologin" ] ||
  fail "rs-ingester is not a system user with home /var/lib/rs-ingester and no shell"
[ "$(getent passwd rs-ingester | cut -d: -f3)" -lt 1000 ] || fail "rs-ingester is no system user"
[ "$(stat -c '%U:%G %a' /var/lib/rs-ingester)" = "rs-ingester:rs-ingester 750" ] ||
  fail "/var/lib/rs-ingester: $(stat -c '%U:%G %a' /var/lib/rs-ingester)"
for env in rs-ingester rsloadmanager metadatastorer; do
  [ "$(stat -c '%U:%G %a' "/etc/rs-ingester/$env.env")" = "root:rs-ingester 640" ] ||
    fail "/etc/rs-ingester/$env.env: $(stat -c '%U:%G %a' "/etc/rs-ingester/$env.env")"
done
[ "$(stat -c '%U %a' /etc/rs-ingester/control-token)" = "root 600" ] || fail "control-token permissions"
token="$(cat /etc/rs-ingester/control-token)"
[ "${#token}" -eq 64 ] || fail "the control token is not 32 random bytes in hex"
for service in rs-ingester rsloadmanager metadatastorer; do
  state="$(systemctl is-enabled "$service.service" 2>/dev/null || true)"
  [ "$state" = disabled ] || fail "$service.service is $state after install, wants disabled"
done
! pgrep -u rs-ingester >/dev/null || fail "a process of rs-ingester runs after install"

say "systemd-analyze verify the installed units"
if ! systemd-analyze verify /lib/systemd/system/{rs-ingester,rsloadmanager,metadatastorer}.service \
  >"$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
  cat "$work/verify.log" >&2
  fail "systemd-analyze verify"
fi

# Settings: a free loopback port for the control API, loads after one second.
port="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
sed -i "s|^RS_INGESTER_OPTIONS=.*|RS_INGESTER_OPTIONS=--control-addr 127.0.0.1:$port --load-age 1|" \
  /etc/rs-ingester/rs-ingester.env
data="$(sed -n 's/^RSI_DATA_DIR=//p' /etc/rs-ingester/rs-ingester.env)"
[ -n "$data" ] || fail "rs-ingester.env sets no RSI_DATA_DIR"
as_service_user() { runuser -u rs-ingester -- "$@"; }
as_service_user mkdir -p "$data/schemas/$table"
as_service_user sh -c "printf '%s\n' '{\"Columns\":[{\"OutboundName\":\"time\",\"Transformer\":\"f@timestamp@unix\",\"ColumnCreationOptions\":\"\"},{\"OutboundName\":\"n\",\"Transformer\":\"int\",\"ColumnCreationOptions\":\"\"}]}' >'$data/schemas/$table/v0.json'"
awk -v rows="$rows" 'BEGIN { for (i = 0; i < rows; i++) printf "2026-11-27 10:%02d:%02d\t%d\n", int(i / 60) % 60, i % 60, i }' |
  gzip >"$work/$table.tsv.gz"
chmod 644 "$work/$table.tsv.gz"

if [ "$with_systemd" -eq 1 ]; then
  say "systemctl start $unit"
  systemctl start "$unit"
else
  # ExecStart as systemd expands it: ${NAME} is the variable's value as one word, $NAME its
  # value split at spaces, %d the credentials directory (the token, readable by the service).
  say "no systemd here (PID 1 is $(ps -p 1 -o comm=)): running $unit's ExecStart as rs-ingester"
  declare -A settings=()
  while IFS='=' read -r name value; do
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && settings[$name]="$value"
  done < <(grep -v '^[[:space:]]*#' /etc/rs-ingester/rs-ingester.env)
  credentials="$work/credentials"
  install -d -o rs-ingester -m 0500 "$credentials"
  install -o rs-ingester -m 0400 /etc/rs-ingester/control-token "$credentials/control-token"
  read -r -a words <<<"$(sed -n 's/^ExecStart=//p' "/lib/systemd/system/$unit")"
  command=()
  for word in "${words[@]}"; do
    word="${word//%d/$credentials}"
    if [[ "$word" =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
      read -r -a split <<<"${settings[${BASH_REMATCH[1]}]:-}"
      command+=("${split[@]}")
      continue
    fi
    while [[ "$word" =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      word="${word//"${BASH_REMATCH[0]}"/${settings[${BASH_REMATCH[1]}]:-}}"
    done
    command+=("$word")
  done
  say "  ${command[*]}"
  (cd /var/lib/rs-ingester && umask 0077 &&
    exec setpriv --reuid=rs-ingester --regid=rs-ingester --init-groups --reset-env "${command[@]}") \
    >"$work/run.log" 2>&1 &
  runner=$!
fi

health=""
for _ in $(seq 1 100); do
  health="$(curl -s "http://127.0.0.1:$port/health" || true)"
  [ -n "$health" ] && break
  sleep 0.1
done
[ -n "$health" ] || fail "the control API on 127.0.0.1:$port never answered"
if [ "$with_systemd" -eq 1 ]; then
  main_pid="$(systemctl show -p MainPID --value "$unit")"
  [ "$(ps -o user= -p "$main_pid")" = rs-ingester ] || fail "$unit does not run as rs-ingester"
fi

say "rs_ingester load of one file ($rows rows), as rs-ingester"
as_service_user rs_ingester load "$work/$table.tsv.gz" --table "$table" --version 0 --data-dir "$data" >/dev/null
as_service_user rs_ingester wait --data-dir "$data" --timeout 120 || fail "rs_ingester wait"
loaded="$(sqlite3 -batch "$data/warehouse.db" "SELECT count(*) FROM \"$table\"")"
[ "$loaded" = "$rows" ] || fail "the warehouse holds $loaded rows of $table, wants $rows"

# The token of /etc/rs-ingester/control-token reached the service: /metrics wants it.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")" = 401 ] ||
  fail "/metrics answers without the token"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" ||
  fail "/metrics refuses the token of /etc/rs-ingester/control-token"
grep -q "^rsi_tsv_files_loaded_total{table=\"$table\"} 1$" "$work/metrics.txt" ||
  fail "/metrics does not count the loaded file"

if [ "$with_systemd" -eq 1 ]; then
  say "systemctl stop $unit"
  systemctl stop "$unit"
  [ "$(systemctl show -p ExecMainStatus --value "$unit")" = 0 ] || fail "$unit did not exit 0"
else
  kill -TERM "$runner"
  status=0
  wait "$runner" || status=$?
  runner=""
  [ "$status" -eq 0 ] || fail "rs_ingester run exited $status on SIGTERM"
fi
# What the service made is the service user's, unreadable to others (UMask=0077).
if find "$data" ! -user rs-ingester -print -quit | grep -q .; then
  fail "files in $data not owned by rs-ingester: $(find "$data" ! -user rs-ingester | head -3)"
fi
[ "$(stat -c '%a' "$data/warehouse.db")" = 600 ] || fail "warehouse.db is not 600"

say "dpkg --purge rs-ingester"
dpkg --purge rs-ingester >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg --purge"; }
installed=0
left=()
for path in "${package_paths[@]}" /etc/rs-ingester /var/lib/rs-ingester /usr/share/doc/rs-ingester; do
  [ ! -e "$path" ] || left+=("$path")
done
[ "${#left[@]}" -eq 0 ] || fail "left after purge: ${left[*]}"
! getent passwd rs-ingester >/dev/null || fail "the user rs-ingester is left after purge"
! getent group rs-ingester >/dev/null || fail "the group rs-ingester is left after purge"
! dpkg-query -W rs-ingester >/dev/null 2>&1 || fail "dpkg still knows rs-ingester"
if [ "$with_systemd" -eq 1 ]; then
  say "passed (with systemd)"
else
  say "passed (without systemd: ExecStart run directly)"
fi
