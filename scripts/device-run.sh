#!/usr/bin/env bash
# The one GPU-machine run (no Node, no network there; scripts/device-kit.sh packed .devkit/ here,
# carried with the checkout). From the repository root, as the `device` tool's whole command:
#   bash scripts/device-run.sh                    ($OUT set by the tool; carry: [".devkit"])
# It unpacks node, node_modules, llama-quantize and the Vulkan/GL loader .debs (into / and
# ldconfig), points Vulkan at NVIDIA's driver, then runs, each step under its own timeout so one
# hang loses only itself, within ~8 minutes in all:
#   info     the WebGPU adapter without and with the Dawn flags, node-llama-cpp's Vulkan devices
#   kernels  the matvec harness (bench/gpu-kernels.ts) at the 1B shapes, beside a plain copy
#   bench    `--gpu`: 1B Q4_0 and Q4_K_M, 135M Q4_0 and Q4_K_M, long context, webinfer vs llama.cpp Vulkan
#   profile  bench/profile.ts on the 1B Q4_0 model
#   concurrency  eight streams against one and the prefix cache on wgsl, 135M and 1B Q4_0 (into bench.log)
#   tests    the wgsl kernel and model tests on the real GPU
# Logs and results go to $OUT (8 files, the most the tool brings back: one .log per step, summary.txt,
# results.tar.gz of bench/results).
# Dry run anywhere else (SwiftShader, smaller sizes, nothing written outside the checkout and /tmp):
#   DEVKIT_QUICK=1 DEVKIT_SYSROOT=/tmp/sysroot OUT=/tmp/out bash scripts/device-run.sh
# Env: DEVKIT_DAWN_FLAGS (default: f16 on NVIDIA on, timestamp quantisation off), DEVKIT_BUDGET_S
# (480), DEVKIT_TIMEOUT_SCALE (multiplies each step's timeout: slow software adapters), DEVKIT_TESTS
# (test files), DEVKIT_STEPS (default "info kernels bench profile concurrency tests").
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
quick=${DEVKIT_QUICK:-0}
budget=${DEVKIT_BUDGET_S:-480}
summary=$OUT/summary.txt
: > "$summary"
kit=/tmp/devkit

{
  echo "== setup $(date -u +%FT%TZ) on $(uname -n), $(nproc) cores"
  # The Vulkan loader and GL dispatch libraries: into / on the GPU machine (NVIDIA's driver finds
  # them through the linker cache), into a private root for a dry run.
  if [ -n "${DEVKIT_SYSROOT:-}" ]; then
    mkdir -p "$DEVKIT_SYSROOT"
    for f in .devkit/*.deb; do dpkg -x "$f" "$DEVKIT_SYSROOT"; done
    export LD_LIBRARY_PATH="$DEVKIT_SYSROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    for f in .devkit/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  mkdir -p "$kit/bin" "$kit/llama-tools"
  python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devkit/node.xz'), open('$kit/bin/node','wb'))"
  chmod +x "$kit/bin/node"
  [ -d node_modules ] || python3 -c "import tarfile; tarfile.open('.devkit/modules.tar.xz').extractall('.')"
  python3 -c "import tarfile; tarfile.open('.devkit/tools.tar.xz').extractall('$kit/llama-tools')"
  echo "unpacked in $(( $(date +%s) - start )) s; node $("$kit/bin/node" --version)"
} 2>&1 | tee "$OUT/setup.log"
export PATH=$kit/bin:$PATH
export WEBINFER_LLAMA_TOOLS_DIR=$kit/llama-tools
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
elif [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; fi
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
export WEBINFER_DAWN_FLAGS=${DEVKIT_DAWN_FLAGS-enable-dawn-features=vulkan_enable_f16_on_nvidia disable-dawn-features=timestamp_quantization}
tsx=(node node_modules/tsx/dist/cli.mjs) # (`timeout` runs programs, not shell functions)

# step NAME SECONDS command...: runs under `timeout`, capped by what is left of the budget; its
# output goes to $OUT/NAME.log, or $OUT/$STEP_LOG.log (the tool brings back 8 files at most).
step() {
  local name=$1 limit=$2 s rc left log
  shift 2
  log=$OUT/${STEP_LOG:-$name}.log
  limit=$(( limit * ${DEVKIT_TIMEOUT_SCALE:-1} ))
  s=$(date +%s)
  left=$(( budget - (s - start) ))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 15 ]; then echo "$name: skipped, the ${budget} s budget is spent" | tee -a "$summary"; return; fi
  echo "== $name (timeout ${limit} s)" | tee -a "$log"
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  echo "$name: exit $rc$([ "$rc" = 124 ] && echo ' (timed out)') after $(( $(date +%s) - s )) s" | tee -a "$summary"
}

# The benchmark models are written on the CPU (llama-quantize on every core) while the GPU runs the
# kernel harness (timed by timestamp queries, so the busy CPU does not skew it); the bench waits
# for them (at most 240 s).
steps=${DEVKIT_STEPS:-info kernels bench profile concurrency tests}
models=
if [ "$quick" != 1 ] && [[ " $steps " == *" bench "* || " $steps " == *" profile "* || " $steps " == *" concurrency "* ]]; then
  nice -n 10 "${tsx[@]}" scripts/make-bench-models.ts --gpu > "$OUT/models.log" 2>&1 &
  models=$!
fi
wait_models() {
  [ -n "$models" ] || return 0
  local t=0
  while kill -0 "$models" 2>/dev/null && [ $t -lt 240 ]; do sleep 1; t=$((t + 1)); done
  kill "$models" 2>/dev/null
  wait "$models"
  echo "== models: exit $? after waiting ${t} s"
  cat "$OUT/models.log"
  rm -f "$OUT/models.log"
  models=
}

if [ "$quick" = 1 ]; then
  kernels=(--tiny --types=Q4_0,Q4_K --samples=1)
  bench=(--quick --decode=8)
  profile=(--quick --models=135m-q4_0)
  concurrency=(--quick)
  tests=${DEVKIT_TESTS:-test/gpu-kernels.test.ts}
else
  kernels=()
  bench=()
  profile=(--models=1b-q4_0)
  concurrency=(--files=bench/.models/smollm2-135m-shape-q4_0-llama-quantize.gguf,bench/.models/llama-3.2-1b-shape-q4_0-llama-quantize.gguf)
  tests=${DEVKIT_TESTS:-test/kernels.test.ts test/gpu-kernels.test.ts test/wgsl-models.test.ts}
fi
for s in $steps; do
  case $s in
    info) step info 40 bash -c 'command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; node scripts/device-info.mjs' ;;
    kernels) step kernels 100 "${tsx[@]}" bench/run.ts --node --gpu-kernels "${kernels[@]}" ;;
    bench) wait_models >> "$OUT/bench.log" 2>&1; step bench 270 "${tsx[@]}" bench/run.ts --node --gpu "${bench[@]}" ;;
    profile) wait_models >> "$OUT/bench.log" 2>&1; step profile 60 "${tsx[@]}" bench/run.ts --node --gpu --profile-only "${profile[@]}" ;;
    concurrency) wait_models >> "$OUT/bench.log" 2>&1; STEP_LOG=bench step concurrency 60 "${tsx[@]}" bench/run.ts --node --concurrency --backends=wgsl "${concurrency[@]}" ;;
    # shellcheck disable=SC2086
    tests) step tests 150 node node_modules/vitest/vitest.mjs run $tests ;;
  esac
done
tar -czf "$OUT/results.tar.gz" bench/results 2>/dev/null
echo "total $(( $(date +%s) - start )) s" | tee -a "$summary"
cat "$summary"
