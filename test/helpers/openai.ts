import OpenAI from 'openai';

export function client(fetchImpl: typeof fetch, baseURL = 'http://webinfer.local/v1'): OpenAI {
  return new OpenAI({ baseURL, apiKey: 'unused', fetch: fetchImpl, maxRetries: 0 });
}
