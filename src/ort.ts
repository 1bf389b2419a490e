/**
 * webinfer/ort: the ort backend (onnxruntime-web) for ONNX models. Import it once, before calling
 * createFetch, in an app that runs ONNX models:
 *
 *   import 'webinfer/ort';
 *   import { createFetch } from 'webinfer';
 *
 * It is an entry of its own because onnxruntime-web is tens of MB of WebAssembly that an app's
 * bundler would otherwise emit for every app (onnxruntime-web is an optional peer dependency).
 */
import { useEngineWorker } from './client/create-fetch.js';
import { importOnnxruntime } from './engine/ort/onnxruntime.js';
import { provideOrt } from './engine/ort/runtime.js';

// `worker: false` and Node run the engine in this thread; the worker gets ORT from its own entry.
provideOrt(importOnnxruntime);
useEngineWorker(() => new Worker(new URL('./worker/ort-worker.ts', import.meta.url), { type: 'module', name: 'webinfer-engine' }));
