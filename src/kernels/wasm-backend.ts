/**
 * The WASM SIMD backend: the AssemblyScript kernels of wasm/ over one shared WebAssembly.Memory,
 * the matmuls, matvecs, attention and EIE split across a worker-thread pool (ops.ts describes how).
 * Arrays from allocF32 / allocBytes live in that memory and are used in place; any other array is
 * copied in (and results copied out) per call. WASM_PLACEMENT says where each Backend op runs.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { DType } from '../tensor/dtype.js';
import { DTYPES, byteSizeOf } from '../tensor/dtype.js';
import {
  type AttentionShape,
  type Backend,
  type EieWeights,
  type HeapArray,
  type Int8Weights,
  type Int4Weights,
  type PatchShape,
  type RopeStyle,
  convOutSize,
  HeapExhaustedError,
} from './backend.js';
import { instantiateKernels } from './kernel-exports.js';
import {
  type KernelExports,
  type Layout,
  SPLIT_INDEX,
  SPLIT_OPS,
  type SplitArgs,
  type SplitOpName,
  positional,
  readLayout,
} from './ops.js';
import { ReferenceBackend, int4UsesQ8 } from './reference.js';
import { ThreadPool } from './thread-pool.js';
import { UserError } from '../errors.js';

/** The Backend ops that compute (the rest allocate and free). */
export type ComputeOp = Exclude<
  keyof Backend,
  'name' | 'threads' | 'allocF32' | 'allocBytes' | 'free' | 'dispose'
>;

/**
 * Where each op runs on the WASM backend. An op stays TypeScript only where a kernel would not be
 * faster; a change here is seen in test/kernels/kernels.test.ts.
 */
export const WASM_PLACEMENT = {
  matmul: 'wasm',
  matmulQuantized: 'wasm',
  matmulInt4: 'wasm',
  matmulInt8: 'wasm',
  matvec: 'wasm',
  add: 'wasm',
  mul: 'wasm',
  silu: 'wasm',
  rmsnorm: 'wasm',
  rope: 'wasm',
  attention: 'wasm',
  // one TypedArray.set (a memcpy) per token
  embedding: 'typescript',
  spmvEie: 'wasm',
  transpose: 'wasm',
  im2col: 'wasm',
  col2im: 'wasm',
  // f16, bf16, q8_0, q4_0, q4_1 in WASM; the plain types convert in TypeScript
  dequantize: 'wasm',
} as const satisfies Record<ComputeOp, 'wasm' | 'typescript'>;

const PAGE = 65536;
/** 4 GiB: wasm32 addresses, and the most pages a WebAssembly.Memory may have */
const MAX_PAGES = 65536;
/** Below this many multiply-adds a job is not worth waking the workers for. */
const PARALLEL_MIN_MACS = 1 << 15;
/** Weights larger than this come from DRAM, where one read stream per thread beats the 4-row tile (bench: kernels). */
const STREAM_WEIGHT_BYTES = 16 << 20;
/**
 * Where allocations start: the module's static data (the tables of Math.sin / cos, about 1 KiB from
 * address 1024) lies below, and the first MiB, the module's initial memory, is left to it with
 * room to spare, so that a kernel writing through a null or small pointer hits no array.
 */
const HEAP_BASE = 1 << 20;
/**
 * Q8_0 and int4 matmuls with fewer rows than these (decode, decode batches) take integer dot
 * products straight from the weights; more rows (prefill) dequantize the weights for the f32 tile
 * kernel. The crossovers measured on 5632 x 2048 weights, 2 threads.
 */
const Q8_INTEGER_ROWS = 16;
const INT4_INTEGER_ROWS = 12;
/** a cache line: arrays and each thread's scratch never share one */
export const HEAP_ALIGN = 64;

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

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly threads: number;
  readonly kernels: KernelExports;
  private readonly layout: Layout;
  /** the TypeScript code of the ops WASM_PLACEMENT keeps in TypeScript */
  private readonly typescript = new ReferenceBackend();
  private readonly memory: WebAssembly.Memory;
  private readonly heapBuffers = new WeakSet<ArrayBufferLike>();
  private top = HEAP_BASE;
  /** freed blocks below top, by address, none adjacent to another or to top */
  private readonly freeBlocks: { ptr: number; bytes: number }[] = [];
  private pool: ThreadPool | null = null;

  private constructor(memory: WebAssembly.Memory, kernels: KernelExports, threads: number) {
    this.memory = memory;
    this.kernels = kernels;
    this.layout = readLayout(kernels);
    this.threads = threads;
  }

  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1)
      throw new UserError(`threads must be a positive integer, got ${threads}`);
    const module = kernelModule();
    const memory = new WebAssembly.Memory({ initial: HEAP_BASE / PAGE, maximum: MAX_PAGES, shared: true });
    const kernels = instantiateKernels(module, memory);
    const backend = new WasmBackend(memory, kernels, threads);
    if (threads > 1) backend.pool = await ThreadPool.create(module, memory, kernels, threads);
    return backend;
  }
  /** Reserves `bytes` in the shared heap and returns the address. */
  private alloc(bytes: number): number {
    const ptr = Math.ceil(this.top / HEAP_ALIGN) * HEAP_ALIGN;
    const end = ptr + bytes;
    if (end > MAX_PAGES * PAGE)
      throw new HeapExhaustedError(`WASM heap exhausted: ${end} bytes needed, 4 GiB is the limit`);
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
    const size = Math.ceil(bytes / HEAP_ALIGN) * HEAP_ALIGN;
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

  free(a: HeapArray): void {
    if (!this.heapBuffers.has(a.buffer) || a.byteLength === 0) return; // not in the heap: the garbage collector's
    const ptr = a.byteOffset;
    const bytes = Math.ceil(a.byteLength / HEAP_ALIGN) * HEAP_ALIGN;
    if (ptr < HEAP_BASE || ptr % HEAP_ALIGN !== 0 || ptr + a.byteLength > this.top)
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
  allocF32(n: number): Float32Array {
    const ptr = this.allocKept(n * 4); // before heap(): it may grow the memory
    return new Float32Array(this.heap(), ptr, n).fill(0);
  }

  /** Bytes of the heap held by live arrays from allocF32 / allocBytes (what a leak makes grow). */
  bytesInUse(): number {
    return this.top - HEAP_BASE - this.freeBlocks.reduce((sum, b) => sum + b.bytes, 0);
  }

  dispose(): void {
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

  /**
   * Runs split op `name` (inside withPointers: its scratch is taken above the heap top): across the
   * pool when `parallel` and there is one, else on this thread over all rows.
   */
  private split<N extends SplitOpName>(name: N, args: SplitArgs<N>, parallel: boolean): void {
    const op = SPLIT_INDEX[name];
    const plan = SPLIT_OPS[op];
    const named = args as Record<string, number>;
    const list = positional(plan, named);
    const rows = named[plan.rows];
    const threads = parallel && this.pool ? this.threads : 1;
    let stride = 0;
    if (plan.scratchBytes) {
      stride = Math.ceil(plan.scratchBytes(named, this.layout) / HEAP_ALIGN) * HEAP_ALIGN;
      list[plan.scratchAt] = this.alloc(stride * threads);
    }
    if (threads > 1 && this.pool) this.pool.run(op, rows, stride, list);
    else (this.kernels[name] as (...a: number[]) => void)(...list, 0, rows);
  }

  matmul(out: Float32Array, a: Float32Array, w: Float32Array, M: number, N: number, K: number): void {
    checkLength('matmul out', out, M * N);
    checkLength('matmul a', a, M * K);
    checkLength('matmul w', w, N * K);
    if (M === 1) return this.matvec(out, w, a, N, K);
    this.withPointers((p) =>
      this.split(
        'matmul_f32',
        { out: p(out, true), a: p(a), w: p(w), M, N, K },
        M * N * K >= PARALLEL_MIN_MACS,
      ),
    );
  }

  /** Zeroed, as allocF32. */
  allocBytes(n: number): Uint8Array {
    const ptr = this.allocKept(n); // before heap(): it may grow the memory
    return new Uint8Array(this.heap(), ptr, n).fill(0);
  }

  matmulQuantized(
    out: Float32Array,
    a: Float32Array,
    w: Uint8Array,
    dtype: 'q8_0',
    M: number,
    N: number,
    K: number,
  ): void {
    const { blockSize } = DTYPES.q8_0;
    if (dtype !== 'q8_0' || K % blockSize !== 0)
      throw new RangeError(`matmulQuantized supports q8_0 with K a multiple of ${blockSize}`);
    checkLength('matmulQuantized out', out, M * N);
    checkLength('matmulQuantized a', a, M * K);
    checkLength('matmulQuantized w', w, byteSizeOf('q8_0', [N, K]));
    const parallel = M * N * K >= PARALLEL_MIN_MACS;
    this.withPointers((p) => {
      const [po, pa, pw] = [p(out, true), p(a), p(w)];
      if (M < Q8_INTEGER_ROWS) {
        const { xq, xd } = this.q8Activations(M * K);
        this.kernels.quantize_q8(pa, xq, xd, M * K);
        this.split('matmul_q8_0_q8', { out: po, w: pw, xq, xd, M, N, K }, parallel);
      } else {
        const aq = this.alloc(M * K * 4);
        this.kernels.round_trip_q8(pa, aq, M * K);
        this.split('matmul_tiled_q8_0_f32', { out: po, a: aq, w: pw, M, N, K }, parallel);
      }
    });
  }

  /** Scratch for n activations as q8 blocks: q (i16) and one f32 scale per block. */
  private q8Activations(n: number): { xq: number; xd: number } {
    return { xq: this.alloc(n * 2), xd: this.alloc((n / this.layout.QK) * 4) };
  }

  matmulInt4(out: Float32Array, a: Float32Array, w: Int4Weights, M: number, N: number, K: number): void {
    const g = w.groupSize;
    const groups = Math.ceil(K / g);
    checkLength('matmulInt4 out', out, M * N);
    checkLength('matmulInt4 a', a, M * K);
    checkLength('matmulInt4 packed', w.packed, N * Math.ceil(K / 2));
    checkLength('matmulInt4 scales', w.scales, N * groups);
    checkLength('matmulInt4 zeros', w.zeros, N * groups);
    if (!(g > 0 && g % 2 === 0) && g !== K)
      throw new RangeError(`int4 group size must be even (or the whole row), got ${g}`);
    const parallel = M * N * K >= PARALLEL_MIN_MACS;
    this.withPointers((p) => {
      const pa = p(a);
      const q8 = int4UsesQ8(K, g);
      const weights = { out: p(out, true), w: p(w.packed), scales: p(w.scales), zeros: p(w.zeros) };
      const shape = { M, N, K, groupSize: g };
      if (M >= INT4_INTEGER_ROWS) {
        // prefill: the activations as the decode kernels see them, through q8 and back when they quantize
        let act = pa;
        if (q8) {
          act = this.alloc(M * K * 4);
          this.kernels.round_trip_q8(pa, act, M * K);
        }
        this.split('matmul_tiled_int4_f32', { ...weights, ...shape, a: act }, parallel);
      } else if (q8) {
        const { xq, xd } = this.q8Activations(M * K);
        const qsum = this.alloc((M * K * 4) / this.layout.QK);
        this.kernels.quantize_q8_sums(pa, xq, xd, qsum, M * K);
        this.split('matmul_int4_q8', { ...weights, ...shape, xq, xd, qsum }, parallel);
      } else {
        // the sum of each group of each activation row (the zero points factor out)
        const asum = this.alloc(M * groups * 4);
        const view = new Float32Array(this.heap(), asum, M * groups);
        for (let m = 0; m < M; m++)
          for (let gi = 0; gi < groups; gi++) {
            let t = 0;
            for (let c = gi * g; c < Math.min((gi + 1) * g, K); c++) t += a[m * K + c];
            view[m * groups + gi] = t;
          }
        this.split('matmul_int4_f32', { ...weights, ...shape, a: pa, asum }, parallel);
      }
    });
  }

  matvec(out: Float32Array, w: Float32Array, x: Float32Array, N: number, K: number): void {
    checkLength('matvec out', out, N);
    checkLength('matvec w', w, N * K);
    checkLength('matvec x', x, K);
    const kernel = N * K * 4 > STREAM_WEIGHT_BYTES ? 'matvec_stream_f32' : 'matvec_f32';
    this.withPointers((p) =>
      this.split(kernel, { out: p(out, true), w: p(w), x: p(x), K, N }, N * K >= PARALLEL_MIN_MACS),
    );
  }

  add(out: Float32Array, a: Float32Array, b: Float32Array): void {
    checkLength('add a', a, out.length);
    checkLength('add b', b, out.length);
    this.withPointers((p) => this.kernels.add_f32(p(out, true), p(a), p(b), out.length));
  }

  mul(out: Float32Array, a: Float32Array, b: Float32Array): void {
    checkLength('mul a', a, out.length);
    checkLength('mul b', b, out.length);
    this.withPointers((p) => this.kernels.mul_f32(p(out, true), p(a), p(b), out.length));
  }

  silu(out: Float32Array, x: Float32Array): void {
    checkLength('silu x', x, out.length);
    this.withPointers((p) => this.kernels.silu_f32(p(out, true), p(x), out.length));
  }

  rmsnorm(
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

  rope(
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

  attention(
    out: Float32Array,
    q: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    s: AttentionShape,
    qSink?: Float32Array,
  ): void {
    const { tokens: T, pos0, heads, kvHeads, headDim } = s;
    const sinks = s.sinks ?? 0;
    const n = pos0 + T;
    checkLength('attention out', out, T * heads * headDim);
    checkLength('attention q', q, T * heads * headDim);
    checkLength('attention keys', keys, n * kvHeads * headDim);
    checkLength('attention values', values, n * kvHeads * headDim);
    if (heads % kvHeads !== 0) throw new RangeError(`heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
    if (sinks > 0) checkLength('attention qSink', qSink ?? [], T * heads * headDim);
    this.withPointers((p) => {
      const pq = p(q);
      const qs = qSink && sinks > 0 ? p(qSink) : pq;
      const [pout, pk, pv] = [p(out, true), p(keys), p(values)];
      const args = { out: pout, q: pq, qs, keys: pk, values: pv, T, pos0, heads, kvHeads, headDim, sinks };
      this.split('attention_f32', args, T * n * heads * headDim >= PARALLEL_MIN_MACS);
    });
  }

  embedding(out: Float32Array, table: Float32Array, ids: ArrayLike<number>, dim: number): void {
    this.typescript.embedding(out, table, ids, dim);
  }

  dequantize(out: Float32Array, src: Uint8Array | Uint16Array, dtype: DType, n: number): void {
    const { blockSize, bytes } = DTYPES[dtype];
    checkLength('dequantize out', out, n);
    if (n % blockSize !== 0) throw new RangeError(`${n} elements is not a whole number of ${dtype} blocks`);
    if (src.byteLength !== (n / blockSize) * bytes)
      throw new RangeError(
        `dequantize src has ${src.byteLength} bytes, ${n} ${dtype} need ${(n / blockSize) * bytes}`,
      );
    const k = this.kernels;
    const kernels: Partial<Record<DType, (dst: number, src: number, count: number) => void>> = {
      f16: k.dequantize_f16,
      bf16: k.dequantize_bf16,
      q8_0: k.dequantize_q8_0,
      q4_0: k.dequantize_q4_0,
      q4_1: k.dequantize_q4_1,
    };
    const kernel = kernels[dtype];
    // the plain types are a conversion, not a decoding
    if (!kernel) return this.typescript.dequantize(out, src, dtype, n);
    this.withPointers((p) => kernel(p(out, true), p(src), n / blockSize));
  }

  matmulInt8(out: Float32Array, a: Float32Array, w: Int8Weights, M: number, N: number, K: number): void {
    checkLength('matmulInt8 out', out, M * N);
    checkLength('matmulInt8 a', a, M * K);
    checkLength('matmulInt8 q', w.q, N * K);
    checkLength('matmulInt8 scales', w.scales, N);
    this.withPointers((p) => {
      const [po, pq, ps, pa] = [p(out, true), p(w.q), p(w.scales), p(a)];
      const xq = this.alloc(M * K * 2);
      const xs = this.alloc(M * 4);
      if (w.act === 'token') this.kernels.quantize_i8_per_token(pa, xq, xs, M, K);
      else if (w.act === 'tensor') this.kernels.quantize_i8_per_tensor(pa, xq, xs, M, K);
      else this.kernels.quantize_i8_static(pa, xq, xs, M, K, w.act);
      this.split('matmul_i8_i8', { out: po, xq, xs, w: pq, ws: ps, M, N, K }, M * N * K >= PARALLEL_MIN_MACS);
    });
  }

  spmvEie(out: Float32Array, w: EieWeights, a: Float32Array, bias: Float32Array | null): void {
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
      const args = {
        y,
        idx,
        val,
        nnz,
        pointers: p(w.pointers),
        peStart: p(w.peStart),
        entries: p(w.entries),
        codebook: p(w.codebook),
        acc: this.alloc(rows * 4),
        rows,
        cols,
        pes,
      };
      this.split('eie_spmv', args, pes > 1 && w.entries.length >= PARALLEL_MIN_MACS);
    });
  }

  transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): void {
    checkLength('transpose out', out, rows * cols);
    checkLength('transpose a', a, rows * cols);
    this.withPointers((p) => this.kernels.transpose_f32(p(out, true), p(a), rows, cols));
  }

  im2col(cols: Float32Array, x: Float32Array, s: PatchShape): void {
    const [inSize, colsSize, args] = patchArgs(s);
    checkLength('im2col x', x, inSize);
    checkLength('im2col cols', cols, colsSize);
    this.withPointers((p) => this.kernels.im2col_f32(p(cols, true), p(x), ...args));
  }

  col2im(dx: Float32Array, cols: Float32Array, s: PatchShape): void {
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
