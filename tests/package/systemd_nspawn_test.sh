#!/usr/bin/env bash
# install_test.sh's systemd path on a machine where systemd is not PID 1 (a container, CI's VM):
# a Debian 12 root made by debootstrap boots systemd in systemd-nspawn, and a oneshot unit in it
# runs install_test.sh on the package (systemctl start and stop of rs-ingester.service, with
# its sandbox), then powers the container off. As root; needs the packages debootstrap and
# systemd-container and Debian's mirror (a few minutes, about 150 MB). Not part of scripts/test.
#
#   tests/package/systemd_nspawn_test.sh PACKAGE.deb
set -euo pipefail

deb="$(realpath "${1:?usage: $0 PACKAGE.deb}")"
here="$(cd "$(dirname "$0")" && pwd)"
mirror="${RSI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
[ "$(id -u)" -eq 0 ] || { echo "systemd_nspawn_test: run as root" >&2; exit 1; }
for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || { echo "systemd_nspawn_test: needs $tool (apt-get install debootstrap systemd-container)" >&2; exit 1; }
done

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
chmod 755 "$root" # The container's /: its services' users must get through it.
echo "systemd_nspawn_test: debootstrap bookworm into $root" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,sqlite3,python3,procps \
  bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  { tail -n 20 "$root.debootstrap.log" >&2; exit 1; }
rm -f "$root.debootstrap.log"

# The package's dependencies, without the package: install_test.sh installs it with dpkg -i.
depends="$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/,/ /g')"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  $depends util-linux gzip >/dev/null
mkdir -p "$root/opt/rsi"
cp "$deb" "$root/opt/rsi/"
cp "$here/install_test.sh" "$root/opt/rsi/"
cat >"$root/etc/systemd/system/rsi-install-test.service" <<EOF
[Unit]
Description=rs-ingester package test under systemd
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c '/opt/rsi/install_test.sh /opt/rsi/$(basename "$deb") >/opt/rsi/result.log 2>&1; echo \$? >/opt/rsi/status'
ExecStartPost=/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/rsi-install-test.service \
  "$root/etc/systemd/system/multi-user.target.wants/rsi-install-test.service"

echo "systemd_nspawn_test: booting the container" >&2
timeout 300 systemd-nspawn -q -D "$root" -b --register=no --keep-unit >"$root.boot.log" 2>&1 || true
cat "$root/opt/rsi/result.log" >&2 2>/dev/null || true
status="$(cat "$root/opt/rsi/status" 2>/dev/null || echo none)"
if [ "$status" != 0 ]; then
  tail -n 30 "$root.boot.log" >&2
  rm -f "$root.boot.log"
  echo "systemd_nspawn_test: FAILED (install_test.sh status: $status)" >&2
  exit 1
fi
rm -f "$root.boot.log"
echo "systemd_nspawn_test: passed" >&2
