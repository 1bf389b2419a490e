#!/usr/bin/env bash
# On a GPU machine with no Node and no network, after scripts/device-kit.sh packed .devkit/ here:
#   bash scripts/device-run.sh <command...>
# unpacks node, node_modules and the Vulkan loader, points Vulkan at the NVIDIA driver when there
# is one, prints the WebGPU adapter, then runs the command (e.g. the Node benchmark or vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in .devkit/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/devkit/bin
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devkit/node.xz'), open('/tmp/devkit/bin/node','wb'))"
chmod +x /tmp/devkit/bin/node
export PATH=/tmp/devkit/bin:$PATH
[ -e ../shared ] || ln -s "$PWD/.devkit/shared" ../shared
[ -d node_modules ] || python3 -c "import tarfile; tarfile.open('.devkit/modules.tar.xz').extractall('.')"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
elif [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; fi
node --input-type=module -e "
const { create, globals } = await import('webgpu');
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
if (!a) { console.log('no WebGPU adapter'); process.exit(0); }
console.log('adapter:', JSON.stringify(a.info), 'features:', [...a.features].join(','));
console.log('limits: maxStorageBufferBindingSize', a.limits.maxStorageBufferBindingSize, 'maxComputeWorkgroupStorageSize', a.limits.maxComputeWorkgroupStorageSize, 'subgroups', a.features.has('subgroups'));
"
"$@"
