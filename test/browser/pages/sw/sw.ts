/** The test app's Service Worker: the engine behind /v1 for every page of the origin. */
import { installServiceWorker } from '../../../../src/sw/index.js';

installServiceWorker({ model: 'hf:webinfer/stories260K-GGUF', hubUrl: new URL(location.href).searchParams.get('hub') ?? undefined });
