/** webinfer: an OpenAI-compatible fetch answered by a model running in the browser tab. */
export { createFetch, type CreateFetchOptions, type WebinferFetch } from './client/create-fetch.js';
export { registerServiceWorkerEngine, type ServiceWorkerEngine } from './client/service-worker.js';
export { installFetchInterceptor, DEFAULT_BASE_URL, type InterceptorOptions } from './client/interceptor.js';
export type { EngineOptions, EngineStats, ModelInfo } from './worker/protocol.js';
export type { LoadProgress } from './worker/protocol.js';
export { listCachedModels, deleteCachedModel, clearCache, storeLocalModel, type CachedModel, type CacheOptions } from './hub/cache.js';
export { QUANT_PREFERENCE } from './hub/select.js';
export type { HubModelSource } from './hub/ref.js';
export type { DownloadProgress, FileProgress } from './hub/progress.js';
export type { ModelSource } from './model/files.js';
export type { BackendName } from './engine/backend.js';
export type * from './api/protocol.js';
export type { OpenAIErrorBody } from './api/errors.js';
