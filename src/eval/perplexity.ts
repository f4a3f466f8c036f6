/**
 * Perplexity = exp(mean negative log-likelihood of each token given the ones before it).
 * Per line: every non-empty line is one sequence, [BOS] + its tokens truncated to the context (as
 * the golden run.c measurement). Sliding window: the whole text as one token stream, windows of
 * `ctx` tokens advancing by `stride`, each token scored once with as much context as the window gives
 * (with disjoint windows, stride = ctx, the first token of each window has no context and is not scored).
 */
import type { LlamaModel } from '../llm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { UserError } from '../errors.js';

export interface PerplexityResult {
  perplexity: number;
  meanNll: number;
  tokens: number;
  sequences: number;
}

export interface PerplexityOptions {
  /** tokens per sequence or window (default: the model's context) */
  ctx?: number;
  /** sliding window step (default: ctx, i.e. disjoint windows) */
  stride?: number;
  perLine?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** -log softmax(logits)[target] */
export function negativeLogLikelihood(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) + max - logits[target];
}

export function perplexity(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: PerplexityOptions = {},
): PerplexityResult {
  const ctx = options.ctx ?? model.config.contextLength;
  if (!Number.isInteger(ctx) || ctx < 2 || ctx > model.config.contextLength)
    throw new UserError(`ctx must be an integer in [2, ${model.config.contextLength}], got ${ctx}`);
  const V = model.config.vocabSize;
  let nll = 0;
  let count = 0;
  /** Scores tokens[from..] of one sequence (each predicted from all tokens before it in the sequence). */
  const cache = model.newCache({ capacity: ctx });
  const score = (tokens: number[], from: number) => {
    cache.truncate(0);
    const logits = model.forward(tokens.slice(0, -1), cache, true);
    for (let p = Math.max(from, 1); p < tokens.length; p++) {
      nll += negativeLogLikelihood(logits.subarray((p - 1) * V, p * V), tokens[p]);
      count++;
    }
  };

  let sequences = 0;
  try {
    if (options.perLine) {
      const lines = text.split('\n').filter((l) => l !== '');
      lines.forEach((line, i) => {
        const tokens = tokenizer.encode(line).slice(0, ctx);
        if (tokens.length >= 2) score(tokens, 1);
        sequences++;
        options.onProgress?.(i + 1, lines.length);
      });
    } else {
      const stride = options.stride ?? ctx;
      if (!Number.isInteger(stride) || stride < 1 || stride > ctx)
        throw new UserError(`stride must be an integer in [1, ${ctx}]`);
      const tokens = tokenizer.encode(text);
      let scoredUpTo = 1; // the first token has no prediction
      for (let begin = 0; scoredUpTo < tokens.length; begin += stride) {
        const end = Math.min(begin + ctx, tokens.length);
        score(tokens.slice(begin, end), scoredUpTo - begin);
        scoredUpTo = end;
        sequences++;
        options.onProgress?.(end, tokens.length);
      }
    }
  } finally {
    cache.dispose();
  }
  if (count === 0) throw new UserError('the text has no token to predict');
  const meanNll = nll / count;
  return { perplexity: Math.exp(meanNll), meanNll, tokens: count, sequences };
}
