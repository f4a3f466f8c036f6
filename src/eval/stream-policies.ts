import type { LlamaModel } from '../llm/model.js';
import type { SessionCacheOptions } from '../llm/session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type StreamPerplexityResult, streamPerplexity } from './stream-perplexity.js';

export interface StreamPoliciesOptions {
  caches: SessionCacheOptions[];
  /** tokens to score under each policy; default: the text once */
  tokens?: number;
  /** at most this many under `recompute`, which runs a whole window per token */
  recomputeTokens: number;
  /** positions per bucket (default 1000) */
  bucket?: number;
  /** `index`: which of `caches` is running */
  onProgress?: (index: number, done: number, total: number) => void;
}

/** streamPerplexity under each cache in turn, over the same text. */
export function streamPerplexityPolicies(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  o: StreamPoliciesOptions,
): StreamPerplexityResult[] {
  return o.caches.map((cache, index) =>
    streamPerplexity(model, tokenizer, text, {
      cache,
      tokens: cache.policy === 'recompute' ? Math.min(o.tokens ?? Infinity, o.recomputeTokens) : o.tokens,
      bucket: o.bucket,
      onProgress: (done, total) => o.onProgress?.(index, done, total),
    }),
  );
}
