/**
 * The WASM SIMD backend: the kernels of wasm/kernels.ts over one shared WebAssembly.Memory, with
 * matmul and matvec split across a worker-thread pool. Arrays from allocF32 live in that memory
 * and are used in place; any other array is copied in (and results copied out) per call. Ops
 * without a hand-written kernel run the reference code directly on the heap views.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { DType } from '../tensor/dtype.js';
import { DTYPES } from '../tensor/dtype.js';
import {
  type AttentionShape,
  type EieWeights,
  type Int8Weights,
  type Int4Weights,
  type PatchShape,
  type RopeStyle,
  convOutSize,
} from './backend.js';
import { type KernelExports, instantiateKernels } from './kernel-exports.js';
import { OP } from './parallel.js';
import { ReferenceBackend, int4UsesQ8 } from './reference.js';
import { ThreadPool } from './thread-pool.js';

const PAGE = 65536;
/** Below this many multiply-adds a job is not worth waking the workers for. */
const PARALLEL_MIN_MACS = 1 << 15;
/** Weights larger than this come from DRAM, where one read stream per thread beats the 4-row tile (bench: kernels). */
const STREAM_WEIGHT_BYTES = 16 << 20;
const HEAP_BASE = 1 << 20;
/**
 * Q8_0 and int4 matmuls with fewer rows than these (decode, decode batches) take integer dot
 * products straight from the weights; more rows (prefill) dequantize the weights for the f32 tile
 * kernel. The crossovers measured on 5632 x 2048 weights, 2 threads.
 */
const Q8_INTEGER_ROWS = 16;
const INT4_INTEGER_ROWS = 12;
const ALIGN = 64;

type Typed = Float32Array | Uint8Array | Uint16Array | Uint32Array | Int8Array;

export interface WasmBackendOptions {
  /** threads including the caller's; default EFFML_THREADS or the number of cores */
  threads?: number;
}

let compiled: WebAssembly.Module | undefined;

function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../../../build/kernels.wasm', import.meta.url)));
  return compiled;
}

export function defaultThreads(): number {
  const env = Number(process.env.EFFML_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

export class WasmBackend extends ReferenceBackend {
  override readonly name = 'wasm';
  override readonly threads: number;
  readonly kernels: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly heapBuffers = new WeakSet<ArrayBufferLike>();
  private top = HEAP_BASE;
  /** freed blocks below top, by address, none adjacent to another or to top */
  private readonly freeBlocks: { ptr: number; bytes: number }[] = [];
  private pool: ThreadPool | null = null;

  private constructor(memory: WebAssembly.Memory, kernels: KernelExports, threads: number) {
    super();
    this.memory = memory;
    this.kernels = kernels;
    this.threads = threads;
  }

  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const module = kernelModule();
    const memory = new WebAssembly.Memory({ initial: HEAP_BASE / PAGE, maximum: 65536, shared: true });
    const kernels = instantiateKernels(module, memory);
    const backend = new WasmBackend(memory, kernels, threads);
    if (threads > 1) backend.pool = await ThreadPool.create(module, memory, kernels, threads);
    return backend;
  }

  /** Reserves `bytes` in the shared heap and returns the address. */
  private alloc(bytes: number): number {
    const ptr = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = ptr + bytes;
    if (end > 2 ** 32) throw new RangeError(`WASM heap exhausted: ${end} bytes needed, 4 GiB is the limit`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return ptr;
  }

  private heap(): SharedArrayBuffer {
    const buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.heapBuffers.add(buffer);
    return buffer;
  }

  /**
   * Reserves `bytes` that live until freed: the first freed block that fits, else the heap top.
   * (Scratch space for one call is taken above the top with `alloc` and dropped after.)
   */
  private allocKept(bytes: number): number {
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    const i = this.freeBlocks.findIndex((b) => b.bytes >= size);
    if (i < 0) return this.alloc(size);
    const block = this.freeBlocks[i];
    const ptr = block.ptr;
    if (block.bytes === size) this.freeBlocks.splice(i, 1);
    else {
      block.ptr += size;
      block.bytes -= size;
    }
    return ptr;
  }

  override free(a: Float32Array | Uint8Array): void {
    if (!this.heapBuffers.has(a.buffer) || a.byteLength === 0) return; // not in the heap: the garbage collector's
    const ptr = a.byteOffset;
    const bytes = Math.ceil(a.byteLength / ALIGN) * ALIGN;
    if (ptr < HEAP_BASE || ptr % ALIGN !== 0 || ptr + a.byteLength > this.top)
      throw new RangeError('free: not an array from allocF32 / allocBytes');
    const blocks = this.freeBlocks;
    let i = blocks.findIndex((b) => b.ptr > ptr);
    if (i < 0) i = blocks.length;
    const prev = blocks[i - 1];
    const next = blocks[i];
    if ((prev && prev.ptr + prev.bytes > ptr) || (next && ptr + bytes > next.ptr))
      throw new RangeError('free: the array was already freed');
    blocks.splice(i, 0, { ptr, bytes });
    if (next && ptr + bytes === next.ptr) {
      blocks[i].bytes += next.bytes;
      blocks.splice(i + 1, 1);
    }
    if (prev && prev.ptr + prev.bytes === ptr) {
      prev.bytes += blocks[i].bytes;
      blocks.splice(i, 1);
    }
    // a free block at the end gives its space back to the top
    const last = blocks[blocks.length - 1];
    if (last.ptr + last.bytes >= this.top) {
      this.top = last.ptr;
      blocks.pop();
    }
  }

  /** Zeroed, as a new Float32Array is: the block may hold a freed array or an earlier call's scratch. */
  override allocF32(n: number): Float32Array {
    const ptr = this.allocKept(n * 4); // before heap(): it may grow the memory
    return new Float32Array(this.heap(), ptr, n).fill(0);
  }

  /** Bytes of the heap held by live arrays from allocF32 / allocBytes (what a leak makes grow). */
  bytesInUse(): number {
    return this.top - HEAP_BASE - this.freeBlocks.reduce((sum, b) => sum + b.bytes, 0);
  }

  override dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  /**
   * Runs `fn` with the heap address of each array it asks for; arrays outside the heap are copied
   * into scratch space above the heap top, and those marked as outputs are copied back after.
   */
  private withPointers<T>(fn: (ptr: (a: Typed, output?: boolean) => number) => T): T {
    const mark = this.top;
    const outputs: [Typed, number][] = [];
    try {
      return fn((a, output = false) => {
        if (this.heapBuffers.has(a.buffer)) return a.byteOffset;
        const p = this.alloc(a.byteLength);
        new Uint8Array(this.heap(), p, a.byteLength).set(
          new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
        );
        if (output) outputs.push([a, p]);
        return p;
      });
    } finally {
      for (const [a, p] of outputs)
        new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(
          new Uint8Array(this.heap(), p, a.byteLength),
        );
      this.top = mark;
    }
  }

  override matmul(
    out: Float32Array,
    a: Float32Array,
    w: Float32Array,
    M: number,
    N: number,
    K: number,
  ): void {
    checkLength('matmul out', out, M * N);
    checkLength('matmul a', a, M * K);
    checkLength('matmul w', w, N * K);
    if (M === 1) return this.matvec(out, w, a, N, K);
    this.withPointers((p) => {
      const args = [p(out, true), p(a), p(w), M, N, K];
      if (this.pool && M * N * K >= PARALLEL_MIN_MACS) this.pool.run(OP.MATMUL, N, 4, args);
      else this.kernels.matmul_f32(args[0], args[1], args[2], M, N, K, 0, N);
    });
  }

  /** Zeroed, as allocF32. */
  override allocBytes(n: number): Uint8Array {
    const ptr = this.allocKept(n); // before heap(): it may grow the memory
    return new Uint8Array(this.heap(), ptr, n).fill(0);
  }

  override matmulQuantized(
    out: Float32Array,
    a: Float32Array,
    w: Uint8Array,
    dtype: 'q8_0',
    M: number,
    N: number,
    K: number,
  ): void {
    if (dtype !== 'q8_0' || K % 32 !== 0)
      throw new RangeError('matmulQuantized supports q8_0 with K a multiple of 32');
    checkLength('matmulQuantized out', out, M * N);
    checkLength('matmulQuantized a', a, M * K);
    checkLength('matmulQuantized w', w, (N * K * 34) / 32);
    this.withPointers((p) => {
      const [po, pa, pw] = [p(out, true), p(a), p(w)];
      const xq = this.alloc(M * K * 2);
      const xd = this.alloc((M * K) / 8);
      // prefill: the quantized activations back in f32 for the f32 tile kernel
      const direct = M < Q8_INTEGER_ROWS; // dot products from the quantized weights
      const aq = direct ? 0 : this.alloc(M * K * 4);
      this.kernels.quantize_act_q8(pa, xq, xd, aq, 0, M * K);
      const threads = this.pool ? this.threads : 1;
      const stride = direct ? 0 : 4 * K * 4; // four dequantized weight rows per thread
      const scratch = this.alloc(stride * threads);
      const args = [po, aq, xq, xd, pw, scratch, stride, M, N, K];
      if (this.pool && M * N * K >= PARALLEL_MIN_MACS) this.pool.run(OP.MATMUL_Q8_0, N, 4, args);
      else this.kernels.matmul_q8_0(po, aq, xq, xd, pw, scratch, M, N, K, 0, N);
    });
  }

  override matmulInt4(
    out: Float32Array,
    a: Float32Array,
    w: Int4Weights,
    M: number,
    N: number,
    K: number,
  ): void {
    const g = w.groupSize;
    const groups = Math.ceil(K / g);
    checkLength('matmulInt4 out', out, M * N);
    checkLength('matmulInt4 a', a, M * K);
    checkLength('matmulInt4 packed', w.packed, N * Math.ceil(K / 2));
    checkLength('matmulInt4 scales', w.scales, N * groups);
    checkLength('matmulInt4 zeros', w.zeros, N * groups);
    if (!(g > 0 && g % 2 === 0) && g !== K)
      throw new RangeError(`int4 group size must be even (or the whole row), got ${g}`);
    this.withPointers((p) => {
      const pa = p(a);
      const threads = this.pool ? this.threads : 1;
      const q8 = int4UsesQ8(K, g);
      const direct = M < INT4_INTEGER_ROWS; // dot products from the packed weights
      const stride = direct ? 0 : 4 * K * 4; // four dequantized weight rows per thread
      const scratch = direct ? 0 : this.alloc(stride * threads);
      let [act, xq, xd, sums] = [pa, 0, 0, 0];
      if (q8) {
        // activations as q8 blocks (integer dot products), and back in f32 for the prefill path
        xq = this.alloc(M * K * 2);
        xd = this.alloc((M * K) / 8);
        sums = this.alloc((M * K) / 8);
        act = direct ? pa : this.alloc(M * K * 4);
        this.kernels.quantize_act_q8(pa, xq, xd, direct ? 0 : act, sums, M * K);
      } else if (direct) {
        // f32 decode: the sum of each group of each activation row (zero points factor out)
        sums = this.alloc(M * groups * 4);
        const view = new Float32Array(this.heap(), sums, M * groups);
        for (let m = 0; m < M; m++)
          for (let gi = 0; gi < groups; gi++) {
            let t = 0;
            for (let c = gi * g; c < Math.min((gi + 1) * g, K); c++) t += a[m * K + c];
            view[m * groups + gi] = t;
          }
      }
      const args = [
        p(out, true),
        act,
        xq,
        xd,
        sums,
        p(w.packed),
        p(w.scales),
        p(w.zeros),
        scratch,
        stride,
        M,
        N,
        K,
        g,
      ];
      if (this.pool && M * N * K >= PARALLEL_MIN_MACS) this.pool.run(OP.MATMUL_INT4, N, 4, args);
      else
        this.kernels.matmul_int4(
          args[0],
          act,
          xq,
          xd,
          sums,
          args[5],
          args[6],
          args[7],
          scratch,
          M,
          N,
          K,
          g,
          0,
          N,
        );
    });
  }

  override matvec(out: Float32Array, w: Float32Array, x: Float32Array, N: number, K: number): void {
    checkLength('matvec out', out, N);
    checkLength('matvec w', w, N * K);
    checkLength('matvec x', x, K);
    this.withPointers((p) => {
      const args = [p(out, true), p(w), p(x), K];
      const streaming = N * K * 4 > STREAM_WEIGHT_BYTES;
      if (this.pool && N * K >= PARALLEL_MIN_MACS)
        this.pool.run(streaming ? OP.MATVEC_STREAM : OP.MATVEC, N, 4, args);
      else
        (streaming ? this.kernels.matvec_stream_f32 : this.kernels.matvec_f32)(
          args[0],
          args[1],
          args[2],
          K,
          0,
          N,
        );
    });
  }

  override dot(a: Float32Array, b: Float32Array): number {
    checkLength('dot b', b, a.length);
    return this.withPointers((p) => this.kernels.dot_f32(p(a), p(b), a.length));
  }

  override rmsnorm(
    out: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void {
    checkLength('rmsnorm out', out, rows * dim);
    checkLength('rmsnorm x', x, rows * dim);
    checkLength('rmsnorm weight', weight, dim);
    this.withPointers((p) => this.kernels.rmsnorm_f32(p(out, true), p(x), p(weight), rows, dim, eps));
  }

  override silu(out: Float32Array, x: Float32Array): void {
    checkLength('silu x', x, out.length);
    this.withPointers((p) => this.kernels.silu_f32(p(out, true), p(x), out.length));
  }

  override softmax(x: Float32Array, rows: number, cols: number): void {
    checkLength('softmax x', x, rows * cols);
    if (cols === 0) return;
    this.withPointers((p) => this.kernels.softmax_f32(p(x, true), rows, cols));
  }

  override rope(
    x: Float32Array,
    heads: number,
    headDim: number,
    pos: number,
    invFreq: Float32Array,
    style: RopeStyle,
  ): void {
    checkLength('rope x', x, heads * headDim);
    checkLength('rope invFreq', invFreq, headDim / 2);
    this.withPointers((p) =>
      this.kernels.rope_f32(p(x, true), heads, headDim, pos, p(invFreq), style === 'halves' ? 1 : 0),
    );
  }

  override attention(
    out: Float32Array,
    q: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    s: AttentionShape,
    qSink?: Float32Array,
  ): void {
    const { tokens, pos0, heads, kvHeads, headDim } = s;
    const sinks = s.sinks ?? 0;
    const n = pos0 + tokens;
    checkLength('attention out', out, tokens * heads * headDim);
    checkLength('attention q', q, tokens * heads * headDim);
    checkLength('attention keys', keys, n * kvHeads * headDim);
    checkLength('attention values', values, n * kvHeads * headDim);
    if (heads % kvHeads !== 0) throw new RangeError(`heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
    if (sinks > 0) checkLength('attention qSink', qSink ?? [], tokens * heads * headDim);
    this.withPointers((p) => {
      const threads = this.pool ? this.threads : 1;
      const stride = Math.ceil(n / 16) * 64; // bytes of score scratch per thread, cache-line aligned
      const scores = this.alloc(stride * threads);
      const pq = p(q);
      const args = [p(out, true), pq, qSink && sinks > 0 ? p(qSink) : pq, p(keys), p(values), scores, stride];
      const dims = [tokens, pos0, heads, kvHeads, headDim, sinks] as const;
      if (this.pool && tokens * n * heads * headDim >= PARALLEL_MIN_MACS)
        this.pool.run(OP.ATTENTION, heads, 1, [...args, ...dims]);
      else this.kernels.attention_f32(args[0], args[1], args[2], args[3], args[4], scores, ...dims, 0, heads);
    });
  }

  override dequantize(out: Float32Array, src: Uint8Array | Uint16Array, dtype: DType, n: number): void {
    const { blockSize, bytes } = DTYPES[dtype];
    checkLength('dequantize out', out, n);
    if (n % blockSize !== 0) throw new RangeError(`${n} elements is not a whole number of ${dtype} blocks`);
    if (src.byteLength !== (n / blockSize) * bytes)
      throw new RangeError(
        `dequantize src has ${src.byteLength} bytes, ${n} ${dtype} need ${(n / blockSize) * bytes}`,
      );
    const k = this.kernels;
    const kernel = {
      f16: () => k.dequantize_f16,
      bf16: () => k.dequantize_bf16,
      q8_0: () => k.dequantize_q8_0,
      q4_0: () => k.dequantize_q4_0,
      q4_1: () => k.dequantize_q4_1,
    }[dtype as 'f16'];
    if (!kernel) return super.dequantize(out, src, dtype, n);
    this.withPointers((p) => kernel()(p(out, true), p(src), n / blockSize));
  }

  override matmulInt8(
    out: Float32Array,
    a: Float32Array,
    w: Int8Weights,
    M: number,
    N: number,
    K: number,
  ): void {
    checkLength('matmulInt8 out', out, M * N);
    checkLength('matmulInt8 a', a, M * K);
    checkLength('matmulInt8 q', w.q, N * K);
    checkLength('matmulInt8 scales', w.scales, N);
    const mode = w.act === 'token' ? 0 : w.act === 'tensor' ? 1 : 2;
    this.withPointers((p) => {
      const [po, pq, ps] = [p(out, true), p(w.q), p(w.scales)];
      const xq = this.alloc(M * K * 2);
      const xs = this.alloc(M * 4);
      this.kernels.quantize_rows_i8(p(a), xq, xs, M, K, mode, typeof w.act === 'number' ? w.act : 0);
      const args = [po, xq, xs, pq, ps, M, N, K];
      if (this.pool && M * N * K >= PARALLEL_MIN_MACS) this.pool.run(OP.MATMUL_I8, N, 4, args);
      else this.kernels.matmul_i8(po, xq, xs, pq, ps, M, N, K, 0, N);
    });
  }

  override spmvEie(out: Float32Array, w: EieWeights, a: Float32Array, bias: Float32Array | null): void {
    const { rows, cols, pes } = w;
    checkLength('spmvEie out', out, rows);
    checkLength('spmvEie a', a, cols);
    checkLength('spmvEie codebook', w.codebook, 16);
    checkLength('spmvEie pointers', w.pointers, pes * (cols + 1));
    checkLength('spmvEie peStart', w.peStart, pes + 1);
    checkLength('spmvEie entries', w.entries, w.peStart[pes]);
    if (bias) out.set(bias.subarray(0, rows));
    else out.fill(0, 0, rows);
    this.withPointers((p) => {
      const y = p(out, true);
      const [idx, val] = [this.alloc(cols * 4), this.alloc(cols * 4)];
      const nnz = this.kernels.nonzeros_f32(p(a), cols, idx, val);
      const scratch = this.alloc(128 * this.threads);
      const acc = this.alloc(rows * 4);
      const args = [y, idx, val, nnz, p(w.pointers), p(w.peStart), p(w.entries), p(w.codebook), scratch, acc];
      const [pw, ps, pe, pc] = args.slice(4, 8);
      if (this.pool && pes > 1 && w.entries.length >= PARALLEL_MIN_MACS)
        this.pool.run(OP.EIE_SPMV, pes, 1, [...args, rows, cols, pes]);
      else this.kernels.eie_spmv(y, idx, val, nnz, pw, ps, pe, pc, scratch, acc, rows, cols, pes, 0, pes);
    });
  }

  override transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): void {
    checkLength('transpose out', out, rows * cols);
    checkLength('transpose a', a, rows * cols);
    this.withPointers((p) => this.kernels.transpose_f32(p(out, true), p(a), rows, cols));
  }

  override im2col(cols: Float32Array, x: Float32Array, s: PatchShape): void {
    const [inSize, colsSize, args] = patchArgs(s);
    checkLength('im2col x', x, inSize);
    checkLength('im2col cols', cols, colsSize);
    this.withPointers((p) => this.kernels.im2col_f32(p(cols, true), p(x), ...args));
  }

  override col2im(dx: Float32Array, cols: Float32Array, s: PatchShape): void {
    const [inSize, colsSize, args] = patchArgs(s);
    checkLength('col2im dx', dx, inSize);
    checkLength('col2im cols', cols, colsSize);
    this.withPointers((p) => this.kernels.col2im_f32(p(dx, true), p(cols), ...args));
  }

  /** Sums n floats of `a` in one streaming pass: the read-bandwidth yardstick of the benchmark. */
  streamSum(a: Float32Array): number {
    return this.withPointers((p) => this.kernels.stream_sum_f32(p(a), a.length));
  }
}

/** Sizes of the image and of its patch matrix, and the kernels' shape arguments. */
function patchArgs(
  s: PatchShape,
): [number, number, [number, number, number, number, number, number, number, number, number]] {
  const OH = convOutSize(s.height, s.kernel, s.stride, s.pad);
  const OW = convOutSize(s.width, s.kernel, s.stride, s.pad);
  return [
    s.batch * s.height * s.width * s.channels,
    s.batch * OH * OW * s.kernel * s.kernel * s.channels,
    [s.batch, s.height, s.width, s.channels, s.kernel, s.stride, s.pad, OH, OW],
  ];
}

function checkLength(what: string, a: { length: number }, expected: number): void {
  if (a.length < expected) throw new RangeError(`${what} has ${a.length} elements, needs ${expected}`);
}
