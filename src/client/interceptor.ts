/**
 * installFetchInterceptor: patches globalThis.fetch so that requests under a base URL are answered
 * by the local model and every other request goes to the network untouched.
 */
import { createFetch, type CreateFetchOptions, type WebinferFetch } from './create-fetch.js';

export interface InterceptorOptions extends CreateFetchOptions {
  /** Absolute (`http://webinfer.local/v1`) or same-origin path (`/v1`). */
  baseURL?: string;
}

export const DEFAULT_BASE_URL = 'http://webinfer.local/v1';

export function installFetchInterceptor(options: InterceptorOptions): (() => void) & { fetch: WebinferFetch } {
  const { baseURL = DEFAULT_BASE_URL, ...rest } = options;
  const origin = typeof location !== 'undefined' ? location.href : undefined;
  const base = new URL(baseURL, origin);
  const prefix = base.href.replace(/\/+$/, '');
  const local = createFetch(rest);
  const original = globalThis.fetch;

  const matches = (url: string) => {
    const u = new URL(url, origin).href;
    return u === prefix || u.startsWith(prefix + '/') || u.startsWith(prefix + '?');
  };
  const patched = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    return matches(url) ? local(input, init) : original.call(globalThis, input, init);
  };
  globalThis.fetch = patched as typeof fetch;
  const restore = () => {
    if (globalThis.fetch === patched) globalThis.fetch = original;
    void local.dispose();
  };
  return Object.assign(restore, { fetch: local });
}
