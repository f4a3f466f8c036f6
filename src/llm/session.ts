/**
 * A generation session: the model, its tokenizer and one KV cache holding the conversation so far.
 * Each call feeds only the tokens the cache does not hold yet, so a chat turn prefills just its own
 * text. Generation yields to the event loop between tokens (and between prompt chunks), so it can be
 * aborted (Ctrl-C, a closed connection) through an AbortSignal, and sessions on one model can run
 * side by side, or decode in one batch through a DecodeBatcher.
 */
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { DecodeBatcher } from './batcher.js';
import type { CacheOptions, CachePolicy, KVCache } from './kv-cache.js';
import type { LlamaModel } from './model.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { UserError } from '../errors.js';

export interface GenerateOptions extends SamplingOptions {
  /** most tokens to generate (default 128) */
  maxTokens?: number;
  /** strings that end the generation; the text stops before them */
  stop?: string[];
  signal?: AbortSignal;
  /** called with each piece of text as soon as it is final */
  onText?: (text: string) => void;
}

export type StopReason = 'eos' | 'stop' | 'length' | 'context' | 'aborted';

export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number;
  stopReason: StopReason;
  /** seconds spent on the prompt, and on generated tokens */
  prefillSeconds: number;
  decodeSeconds: number;
}

/**
 * How the session's cache handles a conversation longer than it: the KVCache policies, or
 * `recompute` (a sliding window of the last `capacity` tokens recomputed from scratch for every new
 * token: exact window attention, and the slow baseline StreamingLLM is measured against).
 */
export interface SessionCacheOptions extends Omit<CacheOptions, 'policy'> {
  policy?: CachePolicy | 'recompute';
}

/** Owns its KV cache (dispose() frees it); the model and the batcher stay their creator's. */
export class Session {
  /**
   * The tokens fed so far, in order: all of them while the cache holds them all; once it evicts,
   * only the recent ones (so that an endless session keeps constant memory).
   */
  readonly history: number[] = [];
  readonly cache: KVCache;
  private readonly recompute: boolean;
  /** tokens dropped from the front of the history */
  private dropped = 0;

  constructor(
    readonly model: LlamaModel,
    readonly tokenizer: Tokenizer,
    options: SessionCacheOptions = {},
    /** decodes together with the other sessions of the batcher (not with the `recompute` policy) */
    private readonly batcher?: DecodeBatcher,
  ) {
    if (batcher && batcher.model !== model) throw new RangeError('the batcher runs a different model');
    this.recompute = options.policy === 'recompute';
    const policy = options.policy === 'recompute' ? 'full' : options.policy;
    this.cache = model.newCache({ ...options, policy });
  }

  get policy(): CachePolicy | 'recompute' {
    return this.recompute ? 'recompute' : this.cache.policy;
  }

  /** Frees the session's KV cache (in the backend's heap); the session cannot generate after. */
  dispose(): void {
    this.cache.dispose();
  }

  reset(): void {
    this.history.length = 0;
    this.dropped = 0;
    this.cache.reset();
  }

  /** whether the cache holds every token of the history, from the first (so it can be rewound) */
  private get whole(): boolean {
    return (
      this.dropped === 0 &&
      this.history.length <= this.cache.capacity &&
      this.cache.position === this.history.length
    );
  }

  /**
   * Generates from `prompt` (token ids, from the start of the conversation): the tokens that extend
   * what the cache holds are fed; if the prompt diverges from the history, the cache is rewound to
   * the common prefix (or, if it has evicted tokens, started over).
   */
  async generate(prompt: readonly number[], options: GenerateOptions = {}): Promise<GenerateResult> {
    if (prompt.length === 0)
      throw new UserError('the prompt has no tokens (an empty prompt needs a BOS token)');
    const t0 = performance.now();
    let common = 0;
    if (this.dropped === 0)
      while (
        common < this.history.length &&
        common < prompt.length &&
        this.history[common] === prompt[common]
      )
        common++;
    // the last prompt token is always fed again when everything is cached, to get its logits
    if (common === prompt.length) common--;
    if (common < this.history.length && !this.whole) common = 0;
    if (common === 0) this.reset();
    this.history.length = common;
    this.cache.truncate(common);
    return this.feedAndSample(prompt.slice(common), prompt.length, t0, options);
  }

  /** Generates after feeding `tokens` on top of everything the session holds (no matching, no rewind). */
  async continue(tokens: readonly number[], options: GenerateOptions = {}): Promise<GenerateResult> {
    if (tokens.length === 0) throw new UserError('nothing to continue from');
    return this.feedAndSample(tokens, tokens.length, performance.now(), options);
  }

  /** Feeds `tokens` (the tail of a prompt of `promptTokens`, timed from t0), then samples until a stop. */
  private async feedAndSample(
    tokens: readonly number[],
    promptTokens: number,
    t0: number,
    options: GenerateOptions,
  ): Promise<GenerateResult> {
    let logits = await this.prefill(tokens, options.signal);
    const prefillSeconds = (performance.now() - t0) / 1000;
    const lastToken = tokens[tokens.length - 1];
    const maxTokens = options.maxTokens ?? 128;
    const sampler = new Sampler(options);
    const stops = options.stop?.filter((s) => s.length > 0) ?? [];
    const t1 = performance.now();
    const decoder = this.tokenizer.decoder(lastToken);
    const generated: number[] = [];
    let text = '';
    let pending = ''; // text held back while it could still be the start of a stop string
    let stopReason: StopReason = 'length';
    const emit = (piece: string) => {
      if (piece === '') return;
      text += piece;
      options.onText?.(piece);
    };
    const aborted = () => {
      if (options.signal?.aborted) stopReason = 'aborted';
      return stopReason === 'aborted';
    };
    while (!aborted()) {
      const next = sampler.sample(logits, this.history);
      if (this.tokenizer.stopIds.has(next)) {
        stopReason = 'eos';
        break;
      }
      generated.push(next);
      pending += decoder.push(next);
      const hit = firstStop(pending, stops);
      if (hit >= 0) {
        emit(pending.slice(0, hit));
        pending = '';
        stopReason = 'stop';
        break;
      }
      const keep = longestStopPrefix(pending, stops);
      emit(pending.slice(0, pending.length - keep));
      pending = pending.slice(pending.length - keep);
      if (generated.length >= maxTokens) break;
      if (this.policy === 'full' && this.cache.full) {
        stopReason = 'context';
        break;
      }
      if (aborted()) break;
      logits = await this.decode(next);
    }
    if (stopReason !== 'stop') emit(pending);
    return {
      text,
      tokens: generated,
      promptTokens,
      stopReason,
      prefillSeconds,
      decodeSeconds: (performance.now() - t1) / 1000,
    };
  }

  /**
   * Feeds a prompt in chunks of the model's batch, letting other work run between chunks (other
   * sessions decode, an abort is seen). Other sessions on the same model may run before the
   * caller resumes, so the logits come back as a copy, not as the model's buffer.
   */
  private async prefill(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    const step = this.model.maxBatch;
    let logits = this.append(tokens.slice(0, step));
    for (let i = step; i < tokens.length; i += step) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) break;
      logits = this.append(tokens.slice(i, i + step));
    }
    return logits.slice();
  }

  /** One decode step, after letting other work run: through the batcher, or on its own (logits copied, as above). */
  private async decode(token: number): Promise<Float32Array> {
    if (!this.batcher || this.recompute) {
      await new Promise((resolve) => setImmediate(resolve));
      return this.append([token]).slice();
    }
    const logits = await this.batcher.step(token, this.cache);
    this.record([token]);
    return logits;
  }

  /**
   * Feeds tokens after the history and returns the logits of the last one (a view reused by the
   * next call), under the session's cache policy.
   */
  append(tokens: readonly number[]): Float32Array {
    const keep = this.cache.capacity;
    let logits: Float32Array;
    if (!this.recompute || this.history.length + tokens.length <= keep)
      logits = this.model.forward(tokens, this.cache);
    else {
      // past the window, recompute: the last `capacity` tokens from scratch at positions 0..capacity-1
      this.cache.reset();
      logits = this.model.forward(this.history.slice(-keep).concat(tokens).slice(-keep), this.cache);
    }
    this.record(tokens);
    return logits;
  }

  /** Adds fed tokens to the history, which keeps only the recent ones once the cache evicts. */
  private record(tokens: readonly number[]): void {
    const keep = this.cache.capacity;
    for (const t of tokens) this.history.push(t);
    // once tokens have left the cache, keep only the recent history; trimming at twice the
    // capacity (not at every token) makes the splice's cost amortized O(1) per token
    if (this.history.length > 2 * keep && (this.cache.position > keep || this.recompute)) {
      this.dropped += this.history.length - keep;
      this.history.splice(0, this.history.length - keep);
    }
  }
}

function firstStop(text: string, stops: string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function longestStopPrefix(text: string, stops: string[]): number {
  let best = 0;
  for (const s of stops)
    for (let n = Math.min(s.length - 1, text.length); n > best; n--)
      if (text.endsWith(s.slice(0, n))) {
        best = n;
        break;
      }
  return best;
}
