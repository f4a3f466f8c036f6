/**
 * Calibration: runs the model over blocks of the user's text and records, for every layer and
 * every group of linears sharing an input (LinearSite), per-channel statistics over all tokens and
 * a uniform sample of input rows (reservoir sampling, seeded) for the searches that follow.
 */
import type { LinearSite, LlamaModel } from '../llm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { UserError } from '../errors.js';

export interface CalibrationOptions {
  /** blocks of text (default 128) */
  samples?: number;
  /** tokens per block, BOS included (default 512, capped at the context) */
  seqLen?: number;
  /** input rows kept per site for the searches (default 4096) */
  keepRows?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export class SiteStats {
  /** mean |x| per input channel, over every calibration token (AWQ) */
  readonly meanAbs: Float64Array;
  /** max |x| per input channel (SmoothQuant) */
  readonly maxAbs: Float64Array;
  /** sampled input rows [count ≤ keep, width] */
  readonly rows: Float32Array;
  seen = 0;
  private kept = 0;

  constructor(
    readonly width: number,
    private readonly keep: number,
    private readonly random: () => number,
  ) {
    this.meanAbs = new Float64Array(width);
    this.maxAbs = new Float64Array(width);
    this.rows = new Float32Array(keep * width);
  }

  /** number of rows in `rows` */
  get count(): number {
    return this.kept;
  }

  add(x: Float32Array): void {
    const w = this.width;
    for (let r = 0; r < x.length / w; r++) {
      const row = x.subarray(r * w, (r + 1) * w);
      this.seen++;
      for (let c = 0; c < w; c++) {
        const a = Math.abs(row[c]);
        this.meanAbs[c] += (a - this.meanAbs[c]) / this.seen;
        if (a > this.maxAbs[c]) this.maxAbs[c] = a;
      }
      // reservoir sampling: every row seen so far is kept with equal probability
      const slot = this.kept < this.keep ? this.kept++ : Math.floor(this.random() * this.seen);
      if (slot < this.keep) this.rows.set(row, slot * w);
    }
  }

  /** Divides channel c of everything recorded by s[c] (after a scale is folded into the weights). */
  divide(s: Float32Array): void {
    for (let c = 0; c < this.width; c++) {
      this.meanAbs[c] /= s[c];
      this.maxAbs[c] /= s[c];
    }
    for (let r = 0; r < this.kept; r++)
      for (let c = 0; c < this.width; c++) this.rows[r * this.width + c] /= s[c];
  }

  sample(): Float32Array {
    return this.rows.subarray(0, this.kept * this.width);
  }
}

export type LayerStats = Record<LinearSite, SiteStats>;

/** The calibration blocks: [BOS] + consecutive tokens of the text, seqLen tokens each. */
export function calibrationBlocks(
  tokenizer: Tokenizer,
  text: string,
  samples: number,
  seqLen: number,
): number[][] {
  const ids = tokenizer.encode(text, { bos: false });
  const bos = tokenizer.bos === null ? [] : [tokenizer.bos];
  const body = seqLen - bos.length;
  const blocks: number[][] = [];
  for (let start = 0; blocks.length < samples && start + body <= ids.length; start += body)
    blocks.push([...bos, ...ids.slice(start, start + body)]);
  if (blocks.length === 0)
    throw new UserError(`the calibration text has ${ids.length} tokens, fewer than one block of ${seqLen}`);
  return blocks;
}

export function calibrate(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  o: CalibrationOptions = {},
): LayerStats[] {
  const c = model.config;
  const seqLen = Math.min(o.seqLen ?? 512, c.contextLength);
  const blocks = calibrationBlocks(tokenizer, text, o.samples ?? 128, seqLen);
  let state = (o.seed ?? 0) + 0x9e3779b9;
  const random = () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 4294967296;
  };
  const keep = o.keepRows ?? 4096;
  const widths: Record<LinearSite, number> = {
    attn_in: c.dim,
    attn_out: c.nHeads * c.headDim,
    ffn_in: c.dim,
    ffn_mid: c.hiddenDim,
  };
  const stats = Array.from(
    { length: c.nLayers },
    () =>
      Object.fromEntries(
        Object.entries(widths).map(([site, w]) => [site, new SiteStats(w, keep, random)]),
      ) as LayerStats,
  );
  const cache = model.newCache({ capacity: seqLen });
  model.observer = (layer, site, rows) => stats[layer][site].add(rows);
  try {
    blocks.forEach((block, i) => {
      cache.reset();
      model.forward(block, cache);
      o.onProgress?.(i + 1, blocks.length);
    });
  } finally {
    model.observer = null;
    cache.dispose();
  }
  return stats;
}
