/**
 * The Llama-family forward pass (llama2.c's `forward`, batched): embed; per layer rmsnorm -> q/k/v
 * -> RoPE -> cache -> attention -> output projection -> residual -> rmsnorm -> SwiGLU FFN ->
 * residual; final rmsnorm; classifier. A batch of T tokens goes through matmuls (prefill); T = 1 is
 * the decode step, and `forwardBatch` decodes one token of each of several sequences together.
 * Buffers are allocated once, for up to `maxBatch` tokens.
 */
import type { Backend } from '../kernels/backend.js';
import { type LlamaConfig, ropeFrequencies } from './config.js';
import { type CacheOptions, KVCache } from './kv-cache.js';
import type { Linear, LlamaWeights } from './weights.js';

export const DEFAULT_MAX_BATCH = 64;

interface RunState {
  x: Float32Array; // [B, dim] residual stream
  xb: Float32Array; // [B, dim] normed input of a sublayer
  q: Float32Array; // [B, qDim]
  k: Float32Array; // [B, kvDim]
  v: Float32Array; // [B, kvDim]
  att: Float32Array; // [B, qDim] attention output
  qSink: Float32Array; // [qDim] the query at its cache position, for the sink keys
  proj: Float32Array; // [B, dim] sublayer output
  hb: Float32Array; // [B, hidden] gate
  hb2: Float32Array; // [B, hidden] up
  logits: Float32Array; // [B, vocab]
}

/** The inputs of each group of linears sharing an input (what AWQ and SmoothQuant calibrate on). */
export type LinearSite = 'attn_in' | 'attn_out' | 'ffn_in' | 'ffn_mid';

/** Allocates its run state and frees it on dispose(); the weights stay their loader's (LoadedModel). */
export class LlamaModel {
  readonly maxBatch: number;
  /** Called with the [T, width] input rows of each linear group as the forward pass computes them (calibration). */
  observer: ((layer: number, site: LinearSite, rows: Float32Array) => void) | null = null;
  private readonly s: RunState;
  private readonly invFreq: Float32Array;
  private readonly qDim: number;
  private readonly kvDim: number;

  constructor(
    readonly config: LlamaConfig,
    readonly weights: LlamaWeights,
    readonly backend: Backend,
    maxBatch = DEFAULT_MAX_BATCH,
  ) {
    this.maxBatch = maxBatch;
    const c = config;
    const B = maxBatch;
    const qDim = (this.qDim = c.nHeads * c.headDim);
    const kvDim = (this.kvDim = c.nKvHeads * c.headDim);
    const f = (n: number) => backend.allocF32(n);
    this.s = {
      x: f(B * c.dim),
      xb: f(B * c.dim),
      q: f(B * qDim),
      k: f(B * kvDim),
      v: f(B * kvDim),
      att: f(B * qDim),
      qSink: f(qDim),
      proj: f(B * c.dim),
      hb: f(B * c.hiddenDim),
      hb2: f(B * c.hiddenDim),
      logits: f(B * c.vocabSize),
    };
    this.invFreq = backend.allocF32(c.headDim / 2);
    this.invFreq.set(ropeFrequencies(c));
  }

  /** Frees the run state; the model cannot run after. */
  dispose(): void {
    for (const a of [...Object.values(this.s), this.invFreq]) this.backend.free(a);
  }

  newCache(options: CacheOptions = {}): KVCache {
    return new KVCache(this.config, this.backend, options);
  }

  /**
   * Feeds `tokens` at the cache's next positions and returns the logits of the last token
   * ([vocab], a view reused by the next call) or, with `allLogits`, of every token ([T, vocab]).
   * Tokens go through in batches while the cache has free slots, one at a time once it evicts.
   */
  forward(tokens: ArrayLike<number>, cache: KVCache, allLogits = false): Float32Array {
    const T = tokens.length;
    const V = this.config.vocabSize;
    if (T === 0) throw new RangeError('forward needs at least one token');
    cache.reserve(T);
    const all = allLogits ? new Float32Array(T * V) : null;
    let logits = this.s.logits;
    for (let start = 0; start < T;) {
      const free = cache.capacity - cache.position;
      const n = Math.min(this.maxBatch, T - start, Math.max(free, 1));
      const chunk = Array.from({ length: n }, (_, i) => tokens[start + i]);
      const last = start + n === T;
      logits = this.forwardChunk(chunk, cache, allLogits ? 'all' : last ? 'last' : 'none');
      all?.set(logits, start * V);
      start += n;
    }
    return all ?? logits.subarray(0, V);
  }

  /** RoPE on x[heads, headDim] at position pos. */
  private rotate(x: Float32Array, heads: number, pos: number): void {
    this.backend.rope(x, heads, this.config.headDim, pos, this.invFreq, this.config.ropeStyle);
  }

  /**
   * One decode step for several sequences at once (continuous batching): token r is fed after what
   * caches[r] holds. The linears see all rows together (one read of the weights for the batch);
   * each row attends over its own cache. Returns the logits of every row ([B, vocab], a view
   * reused by the next call).
   */
  forwardBatch(tokens: readonly number[], caches: readonly KVCache[]): Float32Array {
    const B = tokens.length;
    if (B === 0 || B !== caches.length || B > this.maxBatch)
      throw new RangeError(`forwardBatch needs 1 to ${this.maxBatch} tokens, one per cache`);
    if (new Set(caches).size !== B) throw new RangeError('forwardBatch: each row needs its own cache');
    for (const cache of caches) cache.reserve(1);
    const { qDim, kvDim } = this;
    this.forwardRows([...tokens], (l, q, k, v, att) => {
      for (let r = 0; r < B; r++) {
        const rows = (a: Float32Array, width: number) => a.subarray(r * width, (r + 1) * width);
        this.attend(l, caches[r], 1, rows(q, qDim), rows(k, kvDim), rows(v, kvDim), rows(att, qDim));
      }
    });
    for (const cache of caches) cache.position++;
    return this.classify(B, B);
  }

  private forwardChunk(tokens: number[], cache: KVCache, logitsFor: 'none' | 'last' | 'all'): Float32Array {
    const T = tokens.length;
    this.forwardRows(tokens, (l, q, k, v, att) => this.attend(l, cache, T, q, k, v, att));
    cache.position += T;
    if (logitsFor === 'none') return this.s.logits;
    return this.classify(T, logitsFor === 'all' ? T : 1);
  }

  /**
   * RoPE for T consecutive tokens of one sequence at the cache's next positions, their keys and
   * values into the cache, then each token attends to every slot up to its own. Once the cache is
   * full (T = 1), the token evicts one: the window keys keep their stream rotation, the sinks are
   * scored against the query rotated to its position in the cache.
   */
  private attend(
    l: number,
    cache: KVCache,
    T: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    att: Float32Array,
  ): void {
    const c = this.config;
    const { qDim, kvDim } = this;
    const pos0 = cache.position;
    const evicting = cache.full;
    const slots = cache.length;
    if (evicting && cache.sinks > 0) {
      this.s.qSink.set(q);
      this.rotate(this.s.qSink, c.nHeads, slots - 1);
    }
    for (let t = 0; t < T; t++) {
      this.rotate(q.subarray(t * qDim, (t + 1) * qDim), c.nHeads, pos0 + t);
      this.rotate(k.subarray(t * kvDim, (t + 1) * kvDim), c.nKvHeads, pos0 + t);
    }
    cache.keys[l].set(k, cache.slot(pos0) * kvDim);
    cache.values[l].set(v, cache.slot(pos0) * kvDim);
    const shape = {
      tokens: T,
      pos0: evicting ? slots - 1 : pos0,
      heads: c.nHeads,
      kvHeads: c.nKvHeads,
      headDim: c.headDim,
      sinks: evicting ? cache.sinks : 0,
    };
    this.backend.attention(att, q, cache.keys[l], cache.values[l], shape, this.s.qSink);
  }

  /**
   * Embeds the T tokens and runs every layer over them; `attend` places each layer's q / k / v
   * rows in their sequences and writes the attention output.
   */
  private forwardRows(
    tokens: number[],
    attend: (l: number, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array) => void,
  ): void {
    const { backend: be, config: c, weights: w, s } = this;
    const T = tokens.length;
    const { qDim, kvDim } = this;
    const rows = (a: Float32Array, width: number) => a.subarray(0, T * width);
    const x = rows(s.x, c.dim);
    const xb = rows(s.xb, c.dim);
    const q = rows(s.q, qDim);
    const k = rows(s.k, kvDim);
    const v = rows(s.v, kvDim);
    const att = rows(s.att, qDim);
    const proj = rows(s.proj, c.dim);
    const hb = rows(s.hb, c.hiddenDim);
    const hb2 = rows(s.hb2, c.hiddenDim);

    be.embedding(x, w.embed, tokens, c.dim);
    for (let l = 0; l < c.nLayers; l++) {
      const L = w.layers[l];
      // attention: rmsnorm, q/k/v projections (+ bias), RoPE and attention in each token's sequence
      be.rmsnorm(xb, x, L.attnNorm, T, c.dim, c.normEps);
      this.observer?.(l, 'attn_in', xb);
      linear(be, q, xb, L.wq, T, qDim, c.dim);
      linear(be, k, xb, L.wk, T, kvDim, c.dim);
      linear(be, v, xb, L.wv, T, kvDim, c.dim);
      if (L.bq && L.bk && L.bv) {
        addRowBias(be, q, L.bq, T);
        addRowBias(be, k, L.bk, T);
        addRowBias(be, v, L.bv, T);
      }
      attend(l, q, k, v, att);
      this.observer?.(l, 'attn_out', att);
      linear(be, proj, att, L.wo, T, c.dim, qDim);
      be.add(x, x, proj);

      // SwiGLU feed-forward: w2(silu(w1 x) * w3 x)
      be.rmsnorm(xb, x, L.ffnNorm, T, c.dim, c.normEps);
      this.observer?.(l, 'ffn_in', xb);
      linear(be, hb, xb, L.w1, T, c.hiddenDim, c.dim);
      linear(be, hb2, xb, L.w3, T, c.hiddenDim, c.dim);
      be.silu(hb, hb);
      be.mul(hb, hb, hb2);
      this.observer?.(l, 'ffn_mid', hb);
      linear(be, proj, hb, L.w2, T, c.dim, c.hiddenDim);
      be.add(x, x, proj);
    }
  }

  /** Final norm and classifier for the last n of the T rows in the residual stream. */
  private classify(T: number, n: number): Float32Array {
    const { backend: be, config: c, weights: w, s } = this;
    const xs = s.x.subarray((T - n) * c.dim, T * c.dim);
    const xn = s.xb.subarray(0, n * c.dim);
    be.rmsnorm(xn, xs, w.finalNorm, n, c.dim, c.normEps);
    const logits = s.logits.subarray(0, n * c.vocabSize);
    linear(be, logits, xn, w.output, n, c.vocabSize, c.dim);
    return logits;
  }
}

/** out[M, N] = x[M, K] · Wᵀ, through the kernel for W's format. */
export function linear(
  be: Backend,
  out: Float32Array,
  x: Float32Array,
  w: Linear,
  M: number,
  N: number,
  K: number,
): void {
  if (w.dtype === 'f32') be.matmul(out, x, w.data, M, N, K);
  else if (w.dtype === 'int4') be.matmulInt4(out, x, w.data, M, N, K);
  else if (w.dtype === 'int8') be.matmulInt8(out, x, w.data, M, N, K);
  else be.matmulQuantized(out, x, w.data, w.dtype, M, N, K);
}

function addRowBias(be: Backend, a: Float32Array, bias: Float32Array, rows: number): void {
  const width = bias.length;
  for (let r = 0; r < rows; r++) {
    const row = a.subarray(r * width, (r + 1) * width);
    be.add(row, row, bias);
  }
}
