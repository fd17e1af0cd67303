#!/usr/bin/env bash
# Make sure the machine has what the test suite needs; `npm test` runs this first (pretest).
# Tests start their own throwaway servers from these binaries on free loopback ports; the
# machine's shared PostgreSQL is used only through a fresh database per test file.
#
# As root, whatever is missing is installed with apt-get (`apt-get update` only then, so a
# ready machine is checked in well under a second). Otherwise it stops before anything runs and
# prints the exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package, for every binary the suites (test/, examples/) and bench/ start.
need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want redis-server redis-server   # test/helpers/redis.ts
want redis-cli redis-tools       # test/helpers/redis.ts
want memcached memcached         # test/helpers/memcached.ts
want chromium chromium           # test/example (playwright-core drives Debian's chromium)
want python3 python3             # test/scratch/download-framing.test.ts (python3 -m http.server)
want openssl openssl             # test/scratch/download-framing.test.ts (a certificate for https)
want nginx nginx-light           # bench/balancer
want psql postgresql-client
# npm run test:engines (test/engines) and the systemd run of npm run faults:
want dockerd docker.io           # a private dockerd (test/engines/helpers/dockerd.ts)
want docker-compose docker-compose  # Compose v1; v2 comes from scripts/engines/compose-v2.sh
want podman podman               # podman kube play (test/engines/helpers/podman.ts)
want catatonit catatonit         # kube play's pause container
want debootstrap debootstrap     # the systemd rootfs (scripts/engines/systemd-rootfs.sh)
# The images' sh (scripts/engines/rootfs.sh): Debian's busybox package is not static.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  need+=(busybox-static)
fi
want pg_isready postgresql-client
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
# De-duplicate (postgresql-client appears twice).
if [ ${#need[@]} -gt 0 ]; then mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u); fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian starts some daemons on install; the suite runs its own on private ports.
    service nginx stop >/dev/null 2>&1 || true
    service memcached stop >/dev/null 2>&1 || true
    # The engine suites start their own private dockerd and podman.
    service docker stop >/dev/null 2>&1 || true
    service containerd stop >/dev/null 2>&1 || true
  else
    echo "setup: missing ${need[*]}. Run this, then npm test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# The shared PostgreSQL (127.0.0.1:5432, user postgres, trust) hosts the throwaway databases.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  start="pg_ctlcluster --skip-systemctl-redirect ${cluster:-15} main start"
  if [ "$(id -u)" != 0 ]; then
    echo "setup: PostgreSQL is not running on 127.0.0.1:5432. Run this, then npm test again:" >&2
    echo "  sudo $start" >&2
    exit 1
  fi
  echo "setup: starting PostgreSQL"
  $start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "setup: PostgreSQL did not start: $start" >&2; exit 1; }
fi
# test/helpers/postgres.ts connects to the database "test" to create the throwaway ones.
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null)" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null ||
    { echo "setup: could not create database \"test\": psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'" >&2; exit 1; }
fi

# As `npm test`'s pretest, the dependencies must be there too (.ci/run calls this before npm ci).
if [ "${npm_lifecycle_event:-}" = pretest ] && [ ! -x node_modules/.bin/vitest ]; then
  echo "setup: dependencies are not installed. Run this, then npm test again:" >&2
  echo "  npm ci" >&2
  exit 1
fi
echo "setup: machine ready"
