#!/usr/bin/env bash
# Builds llama.cpp's own llama-quantize and llama-gguf-split from the source that node-llama-cpp
# ships (node_modules/node-llama-cpp/llama/gitRelease.bundle), and prints the folder holding
# them. The binaries are cached outside the clone (~/.cache/webinfer/llama-tools/<commit>), so
# only the first run on a machine pays the build (~10-15 min on 2 cores). gguf-py comes from the
# same checkout (<folder>/gguf-py), for writing and dequantising GGUF from Python.
# WEBINFER_LLAMA_TOOLS_DIR names a ready folder instead (the device kit's unpacked llama-quantize).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${WEBINFER_LLAMA_TOOLS_DIR:-}" ]; then
  [ -x "$WEBINFER_LLAMA_TOOLS_DIR/bin/llama-quantize" ] || { echo "no bin/llama-quantize in $WEBINFER_LLAMA_TOOLS_DIR" >&2; exit 1; }
  echo "$WEBINFER_LLAMA_TOOLS_DIR"
  exit 0
fi
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "missing $bundle: run npm ci first" >&2; exit 1; }
commit=$(git bundle list-heads "$bundle" | head -n1 | cut -c1-12)
root="${WEBINFER_LLAMA_TOOLS:-$HOME/.cache/webinfer/llama-tools}/$commit"
# One build at a time: a second caller (another test file's worker, a bench) waits here for the
# first to finish instead of wiping its half-built folder (seen: a bench's build failed that way).
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
if [ ! -x "$root/bin/llama-quantize" ] || [ ! -x "$root/bin/llama-gguf-split" ]; then
  rm -rf "$root.tmp"
  mkdir -p "$root.tmp"
  git clone -q "$bundle" "$root.tmp/src" 2>/dev/null
  cmake -S "$root.tmp/src" -B "$root.tmp/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF >&2
  cmake --build "$root.tmp/build" --target llama-quantize llama-gguf-split -j "$(nproc)" >&2
  mkdir -p "$root.tmp/bin"
  cp "$root.tmp/build/bin/llama-quantize" "$root.tmp/build/bin/llama-gguf-split" "$root.tmp/bin/"
  mv "$root.tmp/src/gguf-py" "$root.tmp/gguf-py"
  rm -rf "$root.tmp/build" "$root.tmp/src"
  rm -rf "$root" && mv "$root.tmp" "$root"
fi
echo "$root"
