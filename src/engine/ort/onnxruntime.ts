/**
 * The literal imports of onnxruntime-web, in a module of their own that only `webinfer/ort` (and
 * its worker) reach, so that an app's bundler emits ORT only for apps that asked for it.
 */
import type { OrtModuleLoader } from './runtime.js';

export const importOnnxruntime: OrtModuleLoader = (native) => (native ? import('onnxruntime-web/webgpu') : import('onnxruntime-web'));
