/**
 * Getting a GPUDevice: navigator.gpu in browsers and workers; in Node the `webgpu` package
 * (Dawn), which on a machine without a GPU runs on SwiftShader when VK_ICD_FILENAMES points at
 * its ICD (Debian's chromium ships one). The device asks for the adapter's largest buffer limits,
 * so big weight tensors need as few splits as possible.
 */
export interface GpuContext {
  device: GPUDevice;
  /** The adapter offers shader-f16 and the device enabled it. */
  f16: boolean;
  description: string;
  /** A software rasteriser on the CPU (SwiftShader): kernels avoid workgroup barriers there. */
  cpuBacked: boolean;
  /** WGSL has dot4I8Packed and pack4xI8 (the packed_4x8_integer_dot_product language feature). */
  dot4I8: boolean;
}

export class WebGPUUnavailableError extends Error {}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The Dawn instance must outlive every device made from it: if the GPU object were garbage
 * collected, its devices would crash the process from Dawn's threads. So it is kept here.
 */
let dawn: Promise<GPU | undefined> | undefined;

function nodeGpu(): Promise<GPU | undefined> {
  dawn ??= createNodeGpu();
  return dawn;
}

async function createNodeGpu(): Promise<GPU | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  const fsName = 'node:fs';
  const { existsSync }: typeof import('node:fs') = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const pkg = 'webgpu';
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg)) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    // Dawn flags for experiments and profiling, e.g. "disable-dawn-features=timestamp_quantization".
    return mod.create(process.env.WEBINFER_DAWN_FLAGS?.split(/\s+/).filter(Boolean) ?? []);
  } catch (e) {
    throw new WebGPUUnavailableError(`WebGPU is not available in this Node process: the 'webgpu' package could not be loaded (${(e as Error).message})`);
  }
}

export async function isWebGPUAvailable(): Promise<boolean> {
  try {
    const gpu = typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu : await nodeGpu();
    return !!(await gpu?.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * The page's (or Node process's) device, shared by every model loaded on it until it is lost:
 * each model frees its own buffers, and the pipelines compiled for one model serve the next
 * (kernels/op.ts), so reloading or switching models compiles only new kernels.
 */
let shared: Promise<GpuContext> | undefined;

export function acquireDevice(): Promise<GpuContext> {
  if (shared) return shared;
  const created = createDevice();
  shared = created;
  const forget = () => {
    if (shared === created) shared = undefined;
  };
  // A lost device (destroy() in tests loses it too), or none: the next load asks again.
  created.then(({ device }) => device.lost.then(forget), forget);
  return created;
}

async function createDevice(): Promise<GpuContext> {
  const gpu = typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu : await nodeGpu();
  if (!gpu) throw new WebGPUUnavailableError('WebGPU is not available (no navigator.gpu)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGPUUnavailableError('WebGPU is available but no GPU adapter was found');
  const f16 = adapter.features.has('shader-f16');
  const languageFeatures = (gpu as { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  // Subgroups only with the subgroup_id builtin (matvec_wide_sg numbers its threads by subgroup):
  // a device has the `subgroups` feature only when its kernels can use it.
  const subgroups = adapter.features.has('subgroups') && (languageFeatures?.has('subgroup_id') ?? false);
  const features = (['shader-f16', 'timestamp-query'] as const).filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  if (subgroups && envVar('WEBINFER_SUBGROUPS') !== '0') features.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(adapter.limits.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  });
  const description = describeAdapter(adapter);
  const cpuBacked = isCpuBacked(adapter);
  const dot4I8 = languageFeatures?.has('packed_4x8_integer_dot_product') ?? false;
  return { device, f16, description, cpuBacked, dot4I8 };
}

/** An environment variable in Node; undefined in browsers. */
function envVar(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info as GPUAdapterInfo | undefined;
  return [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'WebGPU adapter';
}

/** A software rasteriser on the CPU (SwiftShader, llvmpipe, lavapipe). */
export function isCpuBacked(adapter: GPUAdapter): boolean {
  return /swiftshader|llvmpipe|lavapipe/i.test(describeAdapter(adapter)) || (adapter.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
}
