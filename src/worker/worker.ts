/** Web Worker entry: the engine host, exposed to the page with comlink. */
import * as Comlink from 'comlink';
import { EngineHost } from './host.js';

Comlink.expose(new EngineHost());
