/**
 * The OpenAI API as effml serves it: request schemas (checked by Fastify's validator before a
 * handler runs), the error object, and the response and stream-chunk shapes of /v1/completions
 * and /v1/chat/completions.
 */

/** An error the client caused (or a busy / closing server), sent as OpenAI's error object. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const stop = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }, { type: 'null' }],
};

/** Fields both endpoints take; unknown fields are ignored, as OpenAI's own server does. */
const common = {
  model: { type: 'string' },
  max_tokens: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
  temperature: { anyOf: [{ type: 'number', minimum: 0, maximum: 2 }, { type: 'null' }] },
  top_p: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
  seed: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
  n: { anyOf: [{ type: 'integer', minimum: 1, maximum: 1 }, { type: 'null' }] },
  stop,
  stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
  stream_options: {
    anyOf: [{ type: 'object', properties: { include_usage: { type: 'boolean' } } }, { type: 'null' }],
  },
  // llama.cpp's extensions, with effml's sampler defaults when absent
  top_k: { type: 'integer', minimum: 0 },
  min_p: { type: 'number', minimum: 0, maximum: 1 },
  repeat_penalty: { type: 'number', exclusiveMinimum: 0 },
};

export const completionSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    ...common,
    prompt: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 }],
    },
  },
} as const;

const textPart = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: { type: 'string' } },
};

export const chatSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    ...common,
    max_completion_tokens: common.max_tokens,
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        properties: {
          role: { enum: ['system', 'developer', 'user', 'assistant'] },
          content: { anyOf: [{ type: 'string' }, { type: 'array', items: textPart }] },
        },
      },
    },
  },
} as const;

export interface CommonRequest {
  model: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  top_k?: number;
  min_p?: number;
  repeat_penalty?: number;
}

export interface CompletionRequest extends CommonRequest {
  prompt: string | [string];
}

export interface ChatRequest extends CommonRequest {
  max_completion_tokens?: number | null;
  messages: {
    role: 'system' | 'developer' | 'user' | 'assistant';
    content: string | { type: 'text'; text: string }[];
  }[];
}

export type FinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * The two endpoints differ only in object names and where the text goes; this says how, so one
 * generation loop serves both.
 */
export interface Shape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** the choice of a whole response */
  choice(text: string, finish: FinishReason): object;
  /** the choice of a stream chunk */
  delta(text: string | null, finish: FinishReason | null): object;
  /** the choice of the chunk a stream opens with (a chat's carries the role), if any */
  opening: object | null;
}

export const completionShape: Shape = {
  idPrefix: 'cmpl-',
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
  delta: (text, finish) => ({ index: 0, text: text ?? '', logprobs: null, finish_reason: finish }),
  opening: null,
};

export const chatShape: Shape = {
  idPrefix: 'chatcmpl-',
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (text, finish) => ({
    index: 0,
    message: { role: 'assistant', content: text },
    logprobs: null,
    finish_reason: finish,
  }),
  delta: (text, finish) => ({
    index: 0,
    delta: text === null ? {} : { content: text },
    logprobs: null,
    finish_reason: finish,
  }),
  opening: { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
};
