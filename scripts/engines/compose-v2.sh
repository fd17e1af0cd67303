#!/usr/bin/env bash
# Compose v2 for the engine suites: Debian 12 has only docker-compose 1.29 (it ignores
# deploy.replicas). Debian 13's docker-compose 2.x package (a static Go binary that needs only
# libc6 >= 2.34) is fetched once with `apt-get download` from the machine's Debian mirror, with a
# private source list so the machine's apt state is not touched, and cached as
# ~/.cache/drove-ci/engines/cli-plugins/docker-compose. Prints that path.
set -euo pipefail
cache=${DROVE_CI_CACHE:-$HOME/.cache/drove-ci}/engines
plugin=$cache/cli-plugins/docker-compose
if [ -x "$plugin" ] && "$plugin" version >/dev/null 2>&1; then echo "$plugin"; exit 0; fi
# The mirror apt already uses (deb822 or one-line sources), else Debian's.
mirror=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
  grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian/? ' | grep -v security | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d "${TMPDIR:-/tmp}/drove-compose.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache::Archives=$work/archives" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
echo "engines: fetching docker-compose 2.x from $mirror trixie" >&2
apt-get "${opts[@]}" -qq update >&2
(cd "$work" && apt-get "${opts[@]}" -qq download docker-compose/trixie >&2)
deb=$(ls "$work"/docker-compose_2*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "engines: trixie has no docker-compose 2.x package" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/x"
bin=$(find "$work/x" -type f -name docker-compose -perm -u+x | head -n1)
mkdir -p "$(dirname "$plugin")" && cp "$bin" "$plugin.tmp" && chmod 755 "$plugin.tmp" && mv "$plugin.tmp" "$plugin"
"$plugin" version >&2
echo "$plugin"
