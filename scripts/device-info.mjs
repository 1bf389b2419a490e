// What the GPU offers, for the device run's log: the WebGPU adapter through Dawn (the `webgpu`
// package) without and with the Dawn flags the run uses (WEBINFER_DAWN_FLAGS: e.g. the toggle
// vulkan_enable_f16_on_nvidia, which NVIDIA's Vulkan driver needs for shader-f16), and what
// node-llama-cpp's Vulkan build sees.   node scripts/device-info.mjs
import { create } from 'webgpu';

const flags = process.env.WEBINFER_DAWN_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
for (const f of flags.length ? [[], flags] : [[]]) {
  const gpu = create(f);
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  console.log(`Dawn flags: ${f.length ? f.join(' ') : '(none)'}`);
  if (!a) {
    console.log('  no WebGPU adapter');
    continue;
  }
  const l = a.limits;
  const i = a.info ?? {};
  console.log(`  adapter: vendor ${i.vendor}, architecture ${i.architecture}, device ${i.device}, description ${i.description}`);
  console.log(`  features: ${[...a.features].sort().join(', ')}`);
  console.log(`  WGSL language features: ${[...(gpu.wgslLanguageFeatures ?? [])].sort().join(', ')}`);
  console.log(`  limits: maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}, maxBufferSize ${l.maxBufferSize}, maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize}, maxComputeInvocationsPerWorkgroup ${l.maxComputeInvocationsPerWorkgroup}, subgroup sizes ${a.info?.subgroupMinSize}-${a.info?.subgroupMaxSize}`);
}
try {
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: 'vulkan', build: 'never', logLevel: 'error' });
  const vram = await llama.getVramState();
  console.log(`node-llama-cpp: backend ${llama.gpu || 'cpu'}, devices ${JSON.stringify(await llama.getGpuDeviceNames())}, VRAM ${(vram.total / 2 ** 30).toFixed(1)} GiB`);
  await llama.dispose();
} catch (e) {
  console.log(`node-llama-cpp Vulkan build: ${e.message}`);
}
process.exit(0);
