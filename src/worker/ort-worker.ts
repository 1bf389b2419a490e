/**
 * Web Worker entry of `webinfer/ort`: the engine host with onnxruntime-web provided, so that the
 * app's bundler emits ORT (and its .wasm) for this worker only.
 */
import * as Comlink from 'comlink';
import { importOnnxruntime } from '../engine/ort/onnxruntime.js';
import { provideOrt } from '../engine/ort/runtime.js';
import { EngineHost } from './host.js';
import { STARTED } from './protocol.js';

provideOrt(importOnnxruntime);
Comlink.expose(new EngineHost());
postMessage(STARTED);
