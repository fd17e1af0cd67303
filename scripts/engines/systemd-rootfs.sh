#!/usr/bin/env bash
# The Debian root filesystem the systemd run of `npm run faults` boots as a container:
# `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus` from the machine's Debian
# mirror, made once (about 2 minutes) and cached as ~/.cache/drove-ci/engines/systemd-SUITE.tar.
# Prints the tar's path.
set -euo pipefail
suite=${1:-bookworm}
cache=${DROVE_CI_CACHE:-$HOME/.cache/drove-ci}/engines
tar=$cache/systemd-$suite.tar
if [ -f "$tar" ]; then echo "$tar"; exit 0; fi
command -v debootstrap >/dev/null || { echo "engines: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
# The mirror apt already uses (deb822 URIs: or one-line deb), else Debian's.
mirror=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
  grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"
work=$(mktemp -d "$cache/.systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "engines: debootstrap $suite from $mirror (once)" >&2
# libstdc++6: Node's one library minbase lacks.
nice -n 10 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libstdc++6 \
  "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# What a container does not need at boot (and would fail or wait on).
rm -f "$work/root/etc/systemd/system/getty.target.wants/"* "$work/root/etc/machine-id"
touch "$work/root/etc/machine-id"
tar --numeric-owner -C "$work/root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
echo "$tar"
