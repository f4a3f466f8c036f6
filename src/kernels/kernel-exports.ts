/** The functions src/kernels/wasm/kernels.ts exports (pointers are byte addresses in the shared heap). */
export interface KernelExports {
  dot_f32(a: number, b: number, k: number): number;
  matvec_f32(out: number, w: number, x: number, K: number, r0: number, r1: number): void;
  matvec_stream_f32(out: number, w: number, x: number, K: number, r0: number, r1: number): void;
  matmul_f32(
    out: number,
    a: number,
    w: number,
    M: number,
    N: number,
    K: number,
    r0: number,
    r1: number,
  ): void;
  rmsnorm_f32(out: number, x: number, weight: number, rows: number, dim: number, eps: number): void;
  silu_f32(out: number, x: number, n: number): void;
  softmax_f32(x: number, rows: number, cols: number): void;
  rope_f32(x: number, heads: number, headDim: number, pos: number, invFreq: number, halves: number): void;
  attention_f32(
    out: number,
    q: number,
    qs: number,
    keys: number,
    values: number,
    scores: number,
    T: number,
    pos0: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    sinks: number,
    h0: number,
    h1: number,
  ): void;
  dequantize_f16(dst: number, src: number, n: number): void;
  dequantize_bf16(dst: number, src: number, n: number): void;
  dequantize_q8_0(dst: number, src: number, blocks: number): void;
  dequantize_q4_0(dst: number, src: number, blocks: number): void;
  dequantize_q4_1(dst: number, src: number, blocks: number): void;
  quantize_act_q8(x: number, xq: number, xd: number, aq: number, qsum: number, K: number): void;
  matmul_q8_0(
    out: number,
    aq: number,
    xq: number,
    xd: number,
    w: number,
    scratch: number,
    M: number,
    N: number,
    K: number,
    r0: number,
    r1: number,
  ): void;
  matmul_int4(
    out: number,
    a: number,
    xq: number,
    xd: number,
    sums: number,
    w: number,
    scales: number,
    zeros: number,
    scratch: number,
    M: number,
    N: number,
    K: number,
    groupSize: number,
    r0: number,
    r1: number,
  ): void;
  stream_sum_f32(p: number, n: number): number;
  transpose_f32(out: number, a: number, rows: number, cols: number): void;
  im2col_f32(...args: PatchArgs): void;
  col2im_f32(...args: PatchArgs): void;
  quantize_rows_i8(
    x: number,
    xq: number,
    xs: number,
    M: number,
    K: number,
    mode: number,
    scale: number,
  ): void;
  matmul_i8(
    out: number,
    xq: number,
    xs: number,
    w: number,
    ws: number,
    M: number,
    N: number,
    K: number,
    r0: number,
    r1: number,
  ): void;
  nonzeros_f32(a: number, n: number, idx: number, val: number): number;
  eie_spmv(
    y: number,
    idx: number,
    val: number,
    nnz: number,
    pointers: number,
    peStart: number,
    entries: number,
    codebook: number,
    scratch: number,
    acc: number,
    rows: number,
    cols: number,
    pes: number,
    k0: number,
    k1: number,
  ): void;
}

/** (destination, source, B, H, W, C, kernel, stride, pad, OH, OW) */
type PatchArgs = [number, number, number, number, number, number, number, number, number, number, number];

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}
