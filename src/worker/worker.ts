/** Web Worker entry: the engine host, exposed to the page with comlink. */
import * as Comlink from 'comlink';
import { EngineHost } from './host.js';
import { STARTED } from './protocol.js';

Comlink.expose(new EngineHost());
// The page counts any error before this message as a failure to start (createFetch rejects `ready`).
postMessage(STARTED);
