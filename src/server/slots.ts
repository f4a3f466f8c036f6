/**
 * Decoding slots: N sessions (each with its own KV cache) over one model, and a bounded FIFO of
 * requests waiting for one. The slots decode together, one batched forward pass per token
 * (DecodeBatcher), or with `batch: false` take turns token by token. A free slot whose cache already holds the longest prefix of the prompt is preferred, so a chat
 * that comes back with its conversation feeds only the new turn.
 */
import { DecodeBatcher } from '../llm/batcher.js';
import type { LlamaModel } from '../llm/model.js';
import { Session, type SessionCacheOptions } from '../llm/session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { ApiError } from './api.js';
import { UserError } from '../errors.js';

interface Waiter {
  prompt: readonly number[];
  resolve(session: Session): void;
  reject(err: Error): void;
}

export class SlotPool {
  private readonly free: Session[];
  private readonly sessions: Session[];
  private onIdle: (() => void) | null = null;
  private readonly lastUsed = new Map<Session, number>();
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private uses = 0;
  readonly batcher: DecodeBatcher | null;

  constructor(
    model: LlamaModel,
    tokenizer: Tokenizer,
    cache: SessionCacheOptions,
    readonly size: number,
    readonly queueSize: number,
    batch = true,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new UserError(`parallel must be an integer >= 1, got ${size}`);
    if (!Number.isInteger(queueSize) || queueSize < 0)
      throw new UserError(`queue must be an integer >= 0, got ${queueSize}`);
    if (size > model.maxBatch)
      throw new UserError(`parallel must be at most ${model.maxBatch} (the model's batch), got ${size}`);
    this.batcher = batch ? new DecodeBatcher(model) : null;
    this.sessions = Array.from(
      { length: size },
      () => new Session(model, tokenizer, cache, this.batcher ?? undefined),
    );
    this.free = [...this.sessions];
  }

  get busy(): number {
    return this.size - this.free.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A session for `prompt`: at once if a slot is free, else after the requests queued before it.
   * Throws ApiError 429 when the queue is full, 503 once the pool is closed; an aborted signal
   * takes the request out of the queue.
   */
  acquire(prompt: readonly number[], signal?: AbortSignal): Promise<Session> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (this.free.length > 0 && this.waiting.length === 0) return Promise.resolve(this.take(prompt));
    if (this.waiting.length >= this.queueSize)
      return Promise.reject(
        new ApiError(
          429,
          `the server is busy: ${this.size} requests are generating and ${this.waiting.length} are waiting; try again later`,
          'server_busy',
          null,
          'queue_full',
        ),
      );
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { prompt, resolve, reject };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ApiError(499, 'the client closed the request', 'client_closed'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = (session) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(session);
      };
      this.waiting.push(waiter);
    });
  }

  release(session: Session): void {
    this.free.push(session);
    const next = this.waiting.shift();
    if (next) next.resolve(this.take(next.prompt));
    else if (this.busy === 0) this.onIdle?.();
  }

  /** Refuses new requests and fails the queued ones (503); generating slots finish on their own. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(shuttingDown());
  }

  /** After close(): waits for the generating slots to finish, then frees every slot's KV cache. */
  async dispose(): Promise<void> {
    this.close();
    if (this.busy > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    for (const s of this.sessions) s.dispose();
  }

  private take(prompt: readonly number[]): Session {
    // longest shared prefix first, then least recently used
    let best = 0;
    let bestShared = -1;
    let bestUsed = Infinity;
    this.free.forEach((s, i) => {
      const shared = sharedPrefix(s.history, prompt);
      const used = this.lastUsed.get(s) ?? -1;
      if (shared > bestShared || (shared === bestShared && used < bestUsed)) {
        best = i;
        bestShared = shared;
        bestUsed = used;
      }
    });
    const [session] = this.free.splice(best, 1);
    this.lastUsed.set(session, this.uses++);
    return session;
  }
}

export function shuttingDown(): ApiError {
  return new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
}

function sharedPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
