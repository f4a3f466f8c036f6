import type { DType } from '../tensor/dtype.js';

/** Pairs RoPE rotates: (2i, 2i+1) in Meta / GGUF / llama2.c checkpoints, (i, i + d/2) in Hugging Face ones. */
export type RopeStyle = 'adjacent' | 'halves';

/**
 * Symmetric int8 weights [N, K] with one scale per output row (W8A8, SmoothQuant): w = q · scale.
 * `act` says how the activations are quantized: per row ('token', dynamic), with one dynamic scale
 * for the whole input ('tensor'), or with a static scale fixed at calibration (a number).
 */
export interface Int8Weights {
  q: Int8Array;
  scales: Float32Array;
  act: 'token' | 'tensor' | number;
}

/**
 * A fully-connected layer in EIE's form (src/sparse/): rows interleaved over `pes` processing
 * elements, each in compressed sparse column form with one-byte entries (v = codebook index in the
 * low nibble, z = zero rows skipped in the high nibble), 16 shared weights.
 */
export interface EieWeights {
  rows: number;
  cols: number;
  pes: number;
  /** 16 f32, codebook[0] = 0 */
  codebook: Float32Array;
  /** per PE k, cols + 1 offsets into its entries: column j is [pointers[k·(cols+1) + j], pointers[k·(cols+1) + j + 1]) */
  pointers: Uint32Array;
  /** pes + 1 offsets of each PE's entries */
  peStart: Uint32Array;
  entries: Uint8Array;
}

/** Channels-last images [batch, height, width, channels] and a square kernel sliding over them. */
export interface PatchShape {
  batch: number;
  height: number;
  width: number;
  channels: number;
  kernel: number;
  stride: number;
  pad: number;
}

export interface AttentionShape {
  tokens: number;
  pos0: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** leading keys scored against qSink (default 0) */
  sinks?: number;
}

/** Group-wise int4 weights [N, K] (src/quant/): w = (q - zero) · scale per row and group. */
export interface Int4Weights {
  /** [N, ceil(K / 2)], the even column in the low nibble */
  packed: Uint8Array;
  /** [N, groups] */
  scales: Float32Array;
  /** [N, groups] */
  zeros: Float32Array;
  /** columns per group (the last group may be partial) */
  groupSize: number;
}

/** The standard RoPE inverse frequencies theta^(-2i / dim), i < dim / 2, in f32 as llama.cpp and run.c compute them. */
/**
 * The backend's memory cannot hold what was asked (the WASM heap is capped at 4 GiB). Not a
 * UserError: the caller knows which of its choices (context length, slots) made it too big.
 */
export class HeapExhaustedError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'HeapExhaustedError';
  }
}

export function ropeInvFreq(dim: number, theta: number): Float32Array {
  return Float32Array.from({ length: dim / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / dim));
}

export const convOutSize = (size: number, kernel: number, stride: number, pad = 0): number =>
  Math.floor((size + 2 * pad - kernel) / stride) + 1;

/**
 * The compute kernels. All matrices are row-major; weights are [N, K] (one row per output, as
 * in PyTorch's Linear and in GGUF). Outputs are written into caller-owned arrays so a model can
 * preallocate its run state. Element-wise ops cover the whole of `out`.
 */
/** An array from allocF32 / allocBytes, or a typed view over the whole of one. */
export type HeapArray = Float32Array | Uint8Array | Int8Array | Uint32Array;

export interface Backend {
  readonly name: string;
  readonly threads: number;
  /** An f32 array this backend computes on without copying (WASM: inside its shared heap). */
  allocF32(n: number): Float32Array;
  /** Raw bytes this backend computes on without copying (quantized weights). */
  allocBytes(n: number): Uint8Array;
  /**
   * Gives back an array from allocF32 / allocBytes, or a view over all of one (int8 weights, EIE
   * pointers); it must not be used after. Whoever allocates an array frees it.
   */
  free(a: HeapArray): void;
  /** Frees what this backend holds (worker threads). */
  dispose(): void;

  /** out[M, N] = a[M, K] · w[N, K]ᵀ */
  matmul(out: Float32Array, a: Float32Array, w: Float32Array, M: number, N: number, K: number): void;
  /**
   * out[M, N] = a[M, K] · w[N, K]ᵀ for block-quantized weights (q8_0), never materializing the f32
   * weights. As ggml's vec_dot_q8_0_q8_0, each activation row is first quantized to q8_0 blocks
   * (d = max|x| / 127 per 32, q rounded half away from zero, d kept in f32): the result is
   * Σ_k dequant(w)[n, k] · dequant(q(a))[m, k]. K must be a multiple of 32.
   */
  matmulQuantized(
    out: Float32Array,
    a: Float32Array,
    w: Uint8Array,
    dtype: 'q8_0',
    M: number,
    N: number,
    K: number,
  ): void;
  /**
   * out[M, N] = a[M, K] · dequantize(w)[N, K]ᵀ for group-wise int4 weights, never materializing the
   * weights. When K and the group size are multiples of 32 the activations are quantized to q8
   * blocks first, as for matmulQuantized (integer dot products); otherwise they stay f32.
   */
  matmulInt4(out: Float32Array, a: Float32Array, w: Int4Weights, M: number, N: number, K: number): void;
  /**
   * W8A8: out[m, n] = f32(acc) · f32(s[m] · scale[n]) with acc = Σ_k q(a)[m, k] · w.q[n, k] in int32,
   * where q(a) = clamp(round half away from zero(a / s), ±127) and s per w.act (max|a| / 127 of the
   * row, of the whole input, or the static scale).
   */
  matmulInt8(out: Float32Array, a: Float32Array, w: Int8Weights, M: number, N: number, K: number): void;
  /** out[N] = w[N, K] · x[K] */
  matvec(out: Float32Array, w: Float32Array, x: Float32Array, N: number, K: number): void;

  add(out: Float32Array, a: Float32Array, b: Float32Array): void;
  mul(out: Float32Array, a: Float32Array, b: Float32Array): void;
  silu(out: Float32Array, x: Float32Array): void;

  /** per row of x[rows, dim]: x / sqrt(mean(x²) + eps) · weight */
  rmsnorm(
    out: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  /**
   * In place on x[heads, headDim] at position pos: pair i turns by pos · invFreq[i], i < headDim / 2
   * (invFreq = theta^(-2i / headDim), or a scaled variant; see ropeInvFreq).
   */
  rope(
    x: Float32Array,
    heads: number,
    headDim: number,
    pos: number,
    invFreq: Float32Array,
    style: RopeStyle,
  ): void;
  /**
   * Causal grouped-query attention for T new tokens at positions pos0..pos0+T-1. q and out are
   * [T, heads · headDim]; keys and values hold one row of kvHeads · headDim per position
   * (positions 0..pos0+T-1 filled). Token t attends to positions 0..pos0+t, query head h to KV
   * head h / (heads / kvHeads), scores scaled by 1 / sqrt(headDim). With shape.sinks > 0, keys
   * 0..sinks-1 are scored against qSink instead of q (StreamingLLM's attention sinks, whose query
   * is rotated to a different relative position than the window's).
   */
  attention(
    out: Float32Array,
    q: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    shape: AttentionShape,
    qSink?: Float32Array,
  ): void;
  /** out[i, :] = table[ids[i], :] */
  embedding(out: Float32Array, table: Float32Array, ids: ArrayLike<number>, dim: number): void;

  /**
   * out[rows] = W a (+ bias) for an EIE layer, visiting only the non-zero a[j] (activation
   * sparsity) and each PE's entries of those columns (weight sparsity); each product is rounded to
   * f32 (codebook[v] · a[j]) and summed per row in column order (f32), then added to the bias.
   */
  spmvEie(out: Float32Array, w: EieWeights, a: Float32Array, bias: Float32Array | null): void;
  /** out[cols, rows] = a[rows, cols]ᵀ */
  transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): void;
  /**
   * Convolution as a matmul: cols[b·OH·OW + oh·OW + ow, (kh·k + kw)·C + c] = x[b, oh·s + kh - p, ow·s + kw - p, c]
   * (0 outside the image), x channels-last [B, H, W, C].
   */
  im2col(cols: Float32Array, x: Float32Array, shape: PatchShape): void;
  /** The adjoint of im2col: dx = 0, then every entry of cols added back where im2col took it from. */
  col2im(dx: Float32Array, cols: Float32Array, shape: PatchShape): void;

  /** Expands n elements of f16, bf16, q8_0, q4_0 or q4_1 data (raw bytes or u16 bits) to f32. */
  dequantize(out: Float32Array, src: Uint8Array | Uint16Array, dtype: DType, n: number): void;
}
