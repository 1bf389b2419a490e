/** OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}` with an HTTP status. */

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'APIError';
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static from(e: unknown): APIError {
    if (e instanceof APIError) return e;
    // Backends mark their unavailability (a lost GPU device) by this error name.
    if (e instanceof Error && e.name === 'DeviceLostError') return new APIError(503, e.message, 'server_error', null, 'device_lost');
    const message = e instanceof Error ? e.message : String(e);
    return new APIError(500, message, 'server_error', null, 'internal_error');
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = 'invalid_value') => new APIError(400, message, 'invalid_request_error', param, code);
