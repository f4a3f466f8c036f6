/**
 * StreamingLLM's evaluation: a long text fed one token at a time, far past the model's context,
 * under one cache policy; the negative log-likelihood of each next token is averaged per bucket
 * of positions, with speed and resident memory along the way.
 */
import type { LlamaModel } from '../llm/model.js';
import { Session, type SessionCacheOptions } from '../llm/session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { negativeLogLikelihood } from './perplexity.js';
import { UserError } from '../errors.js';

export interface StreamPerplexityOptions {
  cache: SessionCacheOptions;
  /** tokens to score (the text is repeated to reach it); default: the text once */
  tokens?: number;
  /** positions per bucket (default 1000) */
  bucket?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Bucket {
  /** tokens processed at the end of the bucket */
  end: number;
  meanNll: number;
  rssBytes: number;
}

export interface StreamPerplexityResult {
  policy: string;
  capacity: number;
  sinks: number;
  /** tokens scored (a `full` cache stops at its capacity) */
  tokens: number;
  meanNll: number;
  perplexity: number;
  tokensPerSecond: number;
  buckets: Bucket[];
  peakRssBytes: number;
}

/** The text's tokens, [BOS] first, repeated until there are `n` (+1 for the last target). */
export function streamTokens(tokenizer: Tokenizer, text: string, n?: number): number[] {
  const once = tokenizer.encode(text, { bos: false });
  if (once.length === 0) throw new UserError('the text has no tokens');
  const first = tokenizer.bos === null ? [] : [tokenizer.bos];
  const want = (n ?? once.length) + 1;
  return Array.from({ length: want }, (_, i) =>
    i < first.length ? first[i] : once[(i - first.length) % once.length],
  );
}

export function streamPerplexity(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: StreamPerplexityOptions,
): StreamPerplexityResult {
  const tokens = streamTokens(tokenizer, text, options.tokens);
  const bucketSize = options.bucket ?? 1000;
  const session = new Session(model, tokenizer, options.cache);
  const buckets: Bucket[] = [];
  let sum = 0;
  let count = 0;
  let bucketSum = 0;
  let bucketCount = 0;
  let peakRss = 0;
  const t0 = performance.now();
  const closeBucket = () => {
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    buckets.push({ end: count, meanNll: bucketSum / bucketCount, rssBytes: rss });
    bucketSum = 0;
    bucketCount = 0;
  };
  try {
    for (let i = 0; i + 1 < tokens.length; i++) {
      if (session.policy === 'full' && session.cache.full) break;
      const nll = negativeLogLikelihood(session.append([tokens[i]]), tokens[i + 1]);
      sum += nll;
      count++;
      bucketSum += nll;
      bucketCount++;
      if (bucketCount === bucketSize) closeBucket();
      if (count % 100 === 0) options.onProgress?.(count, tokens.length - 1);
    }
    if (bucketCount > 0) closeBucket();
    const seconds = (performance.now() - t0) / 1000;
    return {
      policy: session.policy,
      capacity: session.cache.capacity,
      sinks: session.cache.sinks,
      tokens: count,
      meanNll: sum / count,
      perplexity: Math.exp(sum / count),
      tokensPerSecond: count / seconds,
      buckets,
      peakRssBytes: Math.max(peakRss, process.memoryUsage().rss),
    };
  } finally {
    session.dispose();
  }
}
