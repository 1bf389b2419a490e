/**
 * The HTTP surface, as a plain `(Request) => Promise<Response>` function: the same handler answers
 * the in-page fetch (inside the worker) and the Node CLI server. It maps routes to serving calls,
 * encodes Server-Sent Events, and turns every failure into an OpenAI error response.
 */
import { AbortError } from '../engine/engine.js';
import { APIError, type OpenAIErrorBody } from './errors.js';
import type { ChatCompletionChunk, Completion, ModelCard } from './protocol.js';
import { foldChat, foldCompletion, Serving, type Plan } from './serving.js';
import { parseChatRequest, parseCompletionRequest, parseJsonBody } from './validate.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** Bodies above this are refused before parsing (a prompt this large cannot fit any context). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

export function errorResponse(e: unknown, headers: Record<string, string> = {}): Response {
  const err = APIError.from(e);
  return jsonResponse(err.toJSON(), err.status, headers);
}

const encoder = new TextEncoder();
export const sseData = (obj: unknown) => encoder.encode(`data: ${JSON.stringify(obj)}\n\n`);
const SSE_DONE = () => encoder.encode('data: [DONE]\n\n');

/** Known routes, matched on the end of the path so any base URL (`/v1`, `/api/v1`) works. */
const ROUTES: { pattern: RegExp; methods: string[]; name: string }[] = [
  { pattern: /\/v1\/chat\/completions\/?$/, methods: ['POST'], name: 'chat' },
  { pattern: /\/v1\/completions\/?$/, methods: ['POST'], name: 'completions' },
  { pattern: /\/v1\/models\/?$/, methods: ['GET'], name: 'models' },
  { pattern: /\/v1\/models\/([^/]+)$/, methods: ['GET'], name: 'model' },
  { pattern: /\/health\/?$/, methods: ['GET'], name: 'health' },
  // vLLM's, beside /v1: what a prompt or a conversation costs in tokens.
  { pattern: /\/tokenize\/?$/, methods: ['POST'], name: 'tokenize' },
];

export interface RouterOptions {
  /** Names accepted in the request's `model` field in addition to the served id. */
  aliases?: string[];
}

export class Router {
  private readonly aliases: Set<string>;
  constructor(
    private readonly serving: Serving,
    options: RouterOptions = {},
  ) {
    // The seed's own examples send "default" and "null" as the model name.
    this.aliases = new Set([serving.modelId, 'default', 'null', ...(options.aliases ?? [])]);
  }

  async handle(request: Request): Promise<Response> {
    try {
      return await this.route(request);
    } catch (e) {
      if (e instanceof AbortError) return errorResponse(new APIError(499, 'the client aborted the request', 'invalid_request_error', null, 'request_aborted'));
      return errorResponse(e);
    }
  }

  private async route(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const route = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
    if (!route) throw new APIError(404, `no route for ${request.method} ${path}`, 'invalid_request_error', null, 'not_found');
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow: route.r.methods.join(', ') } });
    if (!route.r.methods.includes(request.method)) {
      const err = new APIError(405, `method ${request.method} is not allowed on ${path} (use ${route.r.methods.join(', ')})`, 'invalid_request_error', null, 'method_not_allowed');
      return errorResponse(err, { allow: route.r.methods.join(', ') });
    }
    switch (route.r.name) {
      case 'health':
        return jsonResponse({ status: 'ok', model: this.serving.modelId });
      case 'models':
        return jsonResponse({ object: 'list', data: [this.card()] });
      case 'model': {
        const id = decodeURIComponent(route.m![1]!);
        if (!this.aliases.has(id)) throw this.modelNotFound(id);
        return jsonResponse(this.card());
      }
    }
    const body = parseJsonBody(await readBody(request));
    const model = body.model;
    if (model !== undefined && model !== null && (typeof model !== 'string' || !this.aliases.has(model))) {
      if (typeof model !== 'string') throw new APIError(400, `'model' must be a string`, 'invalid_request_error', 'model', 'invalid_type');
      throw this.modelNotFound(model);
    }
    if (route.r.name === 'tokenize') return jsonResponse(this.tokenize(body));
    const plan = route.r.name === 'chat' ? await this.serving.planChat(parseChatRequest(body)) : await this.serving.planCompletion(parseCompletionRequest(body));
    return body.stream === true ? this.streamResponse(plan, request.signal) : this.foldedResponse(plan, request.signal);
  }

  private tokenize(body: ReturnType<typeof parseJsonBody>): ReturnType<Serving['tokenize']> {
    if (body.messages !== undefined) return this.serving.tokenize({ chat: parseChatRequest(body) });
    if (typeof body.prompt !== 'string') throw new APIError(400, "/tokenize needs 'prompt' (a string) or 'messages'", 'invalid_request_error', 'prompt', body.prompt === undefined ? 'missing_required_parameter' : 'invalid_type');
    return this.serving.tokenize({ prompt: body.prompt, addSpecialTokens: body.add_special_tokens !== false });
  }

  private card(): ModelCard {
    return { id: this.serving.modelId, object: 'model', created: 0, owned_by: 'webinfer', root: this.serving.modelId, max_model_len: this.serving.engine.maxModelLen };
  }

  private modelNotFound(model: string): APIError {
    return new APIError(404, `the model '${model}' does not exist; this server serves '${this.serving.modelId}'`, 'invalid_request_error', 'model', 'model_not_found');
  }

  private async foldedResponse(plan: Plan, signal: AbortSignal): Promise<Response> {
    const chunks = this.serving.stream({ ...plan, includeUsage: true }, signal);
    const body = plan.kind === 'chat' ? await foldChat(plan, chunks as AsyncIterable<ChatCompletionChunk>) : await foldCompletion(plan, chunks as AsyncIterable<Completion>);
    return jsonResponse(body);
  }

  private streamResponse(plan: Plan, signal: AbortSignal): Response {
    const chunks = this.serving.stream(plan, signal);
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (cancelled) return; // the reader went away while this chunk was being generated
          if (next.done) {
            controller.enqueue(SSE_DONE());
            controller.close();
          } else controller.enqueue(sseData(next.value));
        } catch (e) {
          if (cancelled) return;
          if (e instanceof AbortError || signal.aborted) {
            controller.close();
            return;
          }
          // Headers are gone already: the error travels as an SSE event, as OpenAI-compatible servers do.
          const err: OpenAIErrorBody = APIError.from(e).toJSON();
          controller.enqueue(sseData(err));
          controller.enqueue(SSE_DONE());
          controller.close();
        }
      },
      async cancel() {
        cancelled = true;
        await chunks.return(undefined);
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
  }
}

async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) throw new APIError(413, `request body of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`, 'invalid_request_error', null, 'request_too_large');
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw new APIError(413, `request body exceeds the ${MAX_BODY_BYTES}-byte limit`, 'invalid_request_error', null, 'request_too_large');
  return text;
}
