/** Inference speed on this machine: prefill and decode tokens per second, time to first token, peak memory. */
import type { LlamaModel } from '../llm/model.js';
import { argmax } from '../llm/sampler.js';

export interface SpeedOptions {
  /** prompt lengths to time the prefill of (default 128 and 512, capped at the context) */
  prompts?: number[];
  /** tokens to generate after the first prompt (default 64) */
  decode?: number;
}

export interface SpeedResult {
  prefill: { tokens: number; seconds: number; tokensPerSecond: number }[];
  /** prefill of the first prompt plus choosing the first token */
  timeToFirstTokenMs: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  peakRssBytes: number;
}

export function measureSpeed(model: LlamaModel, options: SpeedOptions = {}): SpeedResult {
  const ctx = model.config.contextLength;
  const decode = options.decode ?? 64;
  const prompts = (options.prompts ?? [128, 512])
    .map((n) => Math.min(n, ctx - decode - 1))
    .filter((n) => n > 0);
  let seed = 12345;
  const randomTokens = (n: number) =>
    Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % model.config.vocabSize;
    });
  const cache = model.newCache();
  try {
    model.forward(randomTokens(16), cache); // warm-up: JIT, page faults, thread pool
    const prefill = prompts.map((tokens) => {
      cache.truncate(0);
      const t0 = performance.now();
      model.forward(randomTokens(tokens), cache);
      const seconds = (performance.now() - t0) / 1000;
      return { tokens, seconds, tokensPerSecond: tokens / seconds };
    });

    cache.truncate(0);
    const t0 = performance.now();
    let next = argmax(model.forward(randomTokens(prompts[0] ?? 1), cache));
    const timeToFirstTokenMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < decode; i++) next = argmax(model.forward([next], cache));
    const decodeSeconds = (performance.now() - t1) / 1000;
    return {
      prefill,
      timeToFirstTokenMs,
      decodeTokens: decode,
      decodeTokensPerSecond: decode / decodeSeconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    cache.dispose();
  }
}
