/**
 * effml's OpenAI-compatible HTTP server (Fastify): /v1/models, /v1/completions and
 * /v1/chat/completions (whole or streamed as server-sent events), /health, and the chat page at /.
 * Requests decode on a pool of slots (see SlotPool); a client that goes away aborts its
 * generation and frees its slot at once.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { type ChatMessage, encodeChat, renderChat } from '../llm/chat.js';
import type { LlamaModel } from '../llm/model.js';
import type { SamplingOptions } from '../llm/sampler.js';
import type { GenerateResult, Session, SessionCacheOptions, StopReason } from '../llm/session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import {
  ApiError,
  type ChatRequest,
  type CommonRequest,
  type CompletionRequest,
  type FinishReason,
  type Shape,
  chatSchema,
  chatShape,
  completionSchema,
  completionShape,
  usage,
} from './api.js';
import { SlotPool, shuttingDown } from './slots.js';
import { UserError } from '../errors.js';

/** The chat page, built into one HTML file by `npm run build` (scripts/build-page.js). */
const PAGE = fileURLToPath(new URL('../../page/index.html', import.meta.url));

export interface ServerOptions {
  /** the id clients name the model by (default: the model's file or folder name) */
  modelId?: string;
  /** requests that decode at once (default 4) */
  parallel?: number;
  /** requests that may wait for a slot; more get 429 (default 64) */
  queue?: number;
  /** KV cache of each slot (default: the whole context, `full`) */
  cache?: SessionCacheOptions;
  /** decode the slots' tokens in one batched forward pass (default true); false: they take turns */
  batch?: boolean;
  /** tokens a request may generate at most, and the default when it does not say (default 1024) */
  maxTokens?: number;
  /** largest request body in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** one line per finished request */
  log?: (line: string) => void;
}

export interface ServedModel {
  path: string;
  model: LlamaModel;
  tokenizer: Tokenizer;
}

interface Prompt {
  tokens: number[];
  stop: string[];
}

export class EffmlServer {
  readonly app: FastifyInstance;
  readonly pool: SlotPool;
  readonly modelId: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly maxTokens: number;
  private readonly generating = new Set<AbortController>();
  private closing = false;

  constructor(
    private readonly served: ServedModel,
    private readonly options: ServerOptions = {},
  ) {
    this.modelId = options.modelId ?? basename(served.path, extname(served.path));
    this.maxTokens = options.maxTokens ?? 1024;
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 1)
      throw new UserError(`maxTokens must be a positive integer, got ${this.maxTokens}`);
    this.pool = new SlotPool(
      served.model,
      served.tokenizer,
      options.cache ?? {},
      options.parallel ?? 4,
      options.queue ?? 64,
      options.batch ?? true,
    );
    this.app = Fastify({
      bodyLimit: options.bodyLimit ?? 1 << 20,
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
      return503OnClosing: false, // the onRequest hook answers 503 as an OpenAI error
    });
    this.routes();
  }

  /** Starts listening; resolves to the address, e.g. http://127.0.0.1:8080. */
  async listen(host = '127.0.0.1', port = 8080): Promise<string> {
    return this.app.listen({ host, port });
  }

  /**
   * Stops accepting requests, fails the queued ones (503), lets the generating ones finish for up
   * to `graceMs`, then ends them (finish_reason "length"), closes, and frees the slots' KV caches
   * (the model stays loaded).
   */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    this.pool.close();
    const closed = this.app.close();
    const timer = setTimeout(() => this.generating.forEach((g) => g.abort()), graceMs);
    // keep-alive connections of requests that finish now go idle; close them as they do
    const sweep = setInterval(() => this.app.server.closeIdleConnections(), 20);
    try {
      await closed;
      await this.pool.dispose();
    } finally {
      clearTimeout(timer);
      clearInterval(sweep);
    }
  }

  private routes(): void {
    const { app } = this;
    app.addHook('onRequest', async () => {
      if (this.closing) throw shuttingDown();
    });
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      const api = toApiError(err);
      if (api.status >= 500 && !(err instanceof ApiError)) console.error(err);
      return reply.status(api.status).send(api.toJSON());
    });
    app.setNotFoundHandler((req, reply) =>
      reply
        .status(404)
        .send(new ApiError(404, `no route ${req.method} ${req.url}`, 'invalid_request_error').toJSON()),
    );

    const page = existsSync(PAGE) ? readFileSync(PAGE, 'utf8') : null;
    app.get('/', (_req, reply) => {
      if (page === null) throw new ApiError(404, 'the chat page is not built (npm run build)');
      return reply.type('text/html; charset=utf-8').send(page);
    });

    app.get('/health', () => {
      const batcher = this.pool.batcher;
      return {
        status: this.closing ? 'shutting_down' : 'ok',
        model: this.modelId,
        slots: { total: this.pool.size, busy: this.pool.busy },
        queue: { waiting: this.pool.queued, size: this.pool.queueSize },
        decode: batcher
          ? { batched: true, steps: batcher.steps, tokens: batcher.tokens }
          : { batched: false },
      };
    });

    const modelObject = () => ({
      id: this.modelId,
      object: 'model',
      created: this.created,
      owned_by: 'effml',
    });
    app.get('/v1/models', () => ({ object: 'list', data: [modelObject()] }));
    app.get<{ Params: { id: string } }>('/v1/models/:id', (req) => {
      this.checkModel(req.params.id);
      return modelObject();
    });

    app.post<{ Body: CompletionRequest }>(
      '/v1/completions',
      { schema: { body: completionSchema } },
      (req, reply) => {
        this.checkModel(req.body.model);
        const text = typeof req.body.prompt === 'string' ? req.body.prompt : req.body.prompt[0];
        const prompt = { tokens: this.served.tokenizer.encode(text), stop: [] };
        return this.generate(req.body, req.body.max_tokens, prompt, completionShape, reply);
      },
    );

    app.post<{ Body: ChatRequest }>(
      '/v1/chat/completions',
      { schema: { body: chatSchema } },
      (req, reply) => {
        this.checkModel(req.body.model);
        const messages: ChatMessage[] = req.body.messages.map((m) => ({
          role: m.role === 'developer' ? 'system' : m.role,
          content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
        }));
        const rendered = renderChat(this.served.tokenizer, messages);
        const prompt = { tokens: encodeChat(this.served.tokenizer, rendered.text), stop: rendered.stop };
        const maxTokens = req.body.max_completion_tokens ?? req.body.max_tokens;
        return this.generate(req.body, maxTokens, prompt, chatShape, reply);
      },
    );
  }

  private checkModel(id: string): void {
    if (id !== this.modelId)
      throw new ApiError(
        404,
        `The model '${id}' does not exist; this server serves '${this.modelId}'`,
        'invalid_request_error',
        'model',
        'model_not_found',
      );
  }

  /** How many tokens the request may generate, or a 400 saying why it cannot fit. */
  private tokenBudget(promptTokens: number, asked: number | null | undefined): number {
    if (typeof asked === 'number' && asked > this.maxTokens)
      throw new ApiError(
        400,
        `max_tokens is ${asked}, but this server generates at most ${this.maxTokens} tokens per request`,
        'invalid_request_error',
        'max_tokens',
      );
    const cache = this.options.cache ?? {};
    const context = cache.capacity ?? this.served.model.config.contextLength;
    if (cache.policy !== undefined && cache.policy !== 'full') return asked ?? this.maxTokens;
    const wanted = asked ?? 1;
    if (promptTokens + wanted > context)
      throw new ApiError(
        400,
        `This model's maximum context length is ${context} tokens. However, you requested ` +
          `${promptTokens + wanted} tokens (${promptTokens} in the prompt, ${wanted} for the completion).`,
        'invalid_request_error',
        'messages',
        'context_length_exceeded',
      );
    return asked ?? Math.min(this.maxTokens, context - promptTokens);
  }

  private async generate(
    body: CommonRequest,
    asked: number | null | undefined,
    prompt: Prompt,
    shape: Shape,
    reply: FastifyReply,
  ): Promise<object | void> {
    const maxTokens = this.tokenBudget(prompt.tokens.length, asked);
    const stop = [...prompt.stop, ...(typeof body.stop === 'string' ? [body.stop] : (body.stop ?? []))];
    const abort = new AbortController();
    const clientGone = () => !reply.raw.writableEnded && abort.abort();
    reply.raw.on('close', clientGone);
    let session: Session;
    try {
      session = await this.pool.acquire(prompt.tokens, abort.signal);
    } catch (err) {
      reply.raw.off('close', clientGone);
      throw err;
    }
    this.generating.add(abort);
    const id = shape.idPrefix + randomUUID().replaceAll('-', '');
    const head = { id, object: shape.object, created: Math.floor(Date.now() / 1000), model: this.modelId };
    const stream = body.stream === true ? new EventStream(reply) : null;
    const options = {
      ...sampling(body),
      maxTokens,
      stop,
      signal: abort.signal,
      onText: stream
        ? (text: string) =>
            stream.send({ ...head, object: shape.chunkObject, choices: [shape.delta(text, null)] })
        : undefined,
    };
    let result: GenerateResult;
    try {
      if (stream && shape.opening)
        stream.send({ ...head, object: shape.chunkObject, choices: [shape.opening] });
      result = await session.generate(prompt.tokens, options);
    } catch (err) {
      if (!stream) throw err;
      stream.end(toApiError(err as FastifyError).toJSON());
      return;
    } finally {
      this.generating.delete(abort);
      reply.raw.off('close', clientGone);
      this.pool.release(session);
    }
    const finish = finishReason(result.stopReason);
    const counts = usage(result.promptTokens, result.tokens.length);
    this.log(shape, result, stream !== null);
    if (result.stopReason === 'aborted' && !this.closing) {
      // the client is gone: nothing to send (a hijacked stream needs no reply)
      if (stream) return;
      throw new ApiError(499, 'the client closed the request', 'client_closed');
    }
    if (!stream) return { ...head, choices: [shape.choice(result.text, finish)], usage: counts };
    stream.send({ ...head, object: shape.chunkObject, choices: [shape.delta(null, finish)] });
    if (body.stream_options?.include_usage)
      stream.send({ ...head, object: shape.chunkObject, choices: [], usage: counts });
    stream.end();
  }

  private log(shape: Shape, r: GenerateResult, streamed: boolean): void {
    if (!this.options.log) return;
    const rate = r.tokens.length / Math.max(r.decodeSeconds, 1e-9);
    this.options.log(
      `${shape.object}${streamed ? ' (stream)' : ''}: ${r.promptTokens} prompt + ${r.tokens.length} tokens, ` +
        `${rate.toFixed(1)} tok/s, ${r.stopReason}`,
    );
  }
}

/** Server-sent events on a hijacked reply: one `data:` line per JSON object, then [DONE]. */
class EventStream {
  private readonly raw: FastifyReply['raw'];

  constructor(reply: FastifyReply) {
    reply.hijack();
    this.raw = reply.raw;
    this.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
  }

  private get open(): boolean {
    return !this.raw.writableEnded && !this.raw.destroyed;
  }

  send(data: object): void {
    if (this.open) this.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream, after an error object if the generation failed. */
  end(error?: object): void {
    if (error) this.send(error);
    if (this.open) this.raw.end('data: [DONE]\n\n');
  }
}

function sampling(body: CommonRequest): SamplingOptions {
  const options: SamplingOptions = {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    topK: body.top_k,
    minP: body.min_p,
    repetitionPenalty: body.repeat_penalty,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

function finishReason(reason: StopReason): FinishReason {
  return reason === 'eos' || reason === 'stop' ? 'stop' : 'length';
}

/** Fastify's own errors (bad JSON, schema, body too large, wrong content type) as OpenAI's. */
function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0];
    const missing = (v.params as { missingProperty?: string }).missingProperty;
    const param =
      missing ??
      v.instancePath
        .slice(1)
        .replace(/\/(\d+)/g, '[$1]')
        .replaceAll('/', '.');
    const message = missing
      ? `Missing required parameter: '${param}'.`
      : `Invalid value for '${param || 'body'}': ${v.message ?? 'invalid'}.`;
    return new ApiError(400, message, 'invalid_request_error', param || null);
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return new ApiError(status, err.message, 'invalid_request_error', null, err.code ?? null);
  return new ApiError(500, `internal server error: ${err.message}`, 'server_error');
}
