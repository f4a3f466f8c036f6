/**
 * Every export of the WASM kernel module (src/kernels/wasm/index.ts), described once: its named
 * arguments in order, and for the kernels the thread pool splits, which argument pair is the row
 * range, what a row is, the grain, and which argument is per-thread scratch. The serial call, the
 * thread pool's slicing, the control block's size and the TypeScript type of the exports all come
 * from this table; `checkKernels` holds it against the instantiated module. Adding a kernel is one
 * AssemblyScript function and one entry here.
 */
import { DTYPES } from '../tensor/dtype.js';

/** The module's layout constants (WebAssembly globals), as src/kernels/wasm/layout.ts exports them. */
export const LAYOUT_GLOBALS = ['QK', 'Q8_0_BYTES', 'Q4_0_BYTES', 'Q4_1_BYTES', 'EIE_SCRATCH_BYTES'] as const;
export type Layout = Record<(typeof LAYOUT_GLOBALS)[number], number>;

interface Split<A extends string> {
  /** the argument that holds the number of rows to split (a caller gives it too where the kernel does not take it) */
  rows: string;
  /** what a row is, for the reader */
  unit: string;
  /** rows per cut: a thread's range starts at a multiple of it (the kernel's tile height) */
  grain: number;
  /** the per-thread scratch argument and its bytes per thread, from the other arguments */
  scratch?: { arg: A; bytes: (args: Record<A, number>, layout: Layout) => number };
}

interface OpSpec<A extends readonly string[]> {
  /** parameter names, in order; a split op's last two are its row range [r0, r1) */
  args: A;
  returns?: 'f32' | 'i32';
  split?: Split<A[number]>;
}

/** keeps the literal type of a description (the exports' types come from it) and checks its names */
const op = <const S extends { args: readonly string[] }>(spec: S & OpSpec<S['args']>): S => spec;

/** bytes of four f32 weight rows: the tiled matmuls dequantize four rows at a time into scratch */
const fourRows = (a: { K: number }) => 16 * a.K;
const OUTPUT_ROWS = { rows: 'N', unit: 'output (weight row)', grain: 4 } as const;

export const OPS = {
  matvec_f32: op({ args: ['out', 'w', 'x', 'K', 'r0', 'r1'], split: OUTPUT_ROWS }),
  matvec_stream_f32: op({ args: ['out', 'w', 'x', 'K', 'r0', 'r1'], split: OUTPUT_ROWS }),
  matmul_f32: op({ args: ['out', 'a', 'w', 'M', 'N', 'K', 'r0', 'r1'], split: OUTPUT_ROWS }),
  stream_sum_f32: op({ args: ['p', 'n'], returns: 'f32' }),

  quantize_q8: op({ args: ['x', 'xq', 'xd', 'n'] }),
  quantize_q8_sums: op({ args: ['x', 'xq', 'xd', 'qsum', 'n'] }),
  round_trip_q8: op({ args: ['x', 'out', 'n'] }),
  matmul_q8_0_q8: op({
    args: ['out', 'w', 'xq', 'xd', 'M', 'N', 'K', 'r0', 'r1'],
    split: OUTPUT_ROWS,
  }),
  matmul_tiled_q8_0_f32: op({
    args: ['out', 'a', 'w', 'scratch', 'M', 'N', 'K', 'r0', 'r1'],
    split: { ...OUTPUT_ROWS, scratch: { arg: 'scratch', bytes: fourRows } },
  }),

  matmul_int4_f32: op({
    args: ['out', 'a', 'asum', 'w', 'scales', 'zeros', 'M', 'N', 'K', 'groupSize', 'r0', 'r1'],
    split: OUTPUT_ROWS,
  }),
  matmul_int4_q8: op({
    args: ['out', 'xq', 'xd', 'qsum', 'w', 'scales', 'zeros', 'M', 'N', 'K', 'groupSize', 'r0', 'r1'],
    split: OUTPUT_ROWS,
  }),
  matmul_tiled_int4_f32: op({
    args: ['out', 'a', 'w', 'scales', 'zeros', 'scratch', 'M', 'N', 'K', 'groupSize', 'r0', 'r1'],
    split: { ...OUTPUT_ROWS, scratch: { arg: 'scratch', bytes: fourRows } },
  }),

  quantize_i8_per_token: op({ args: ['x', 'xq', 'xs', 'M', 'K'] }),
  quantize_i8_per_tensor: op({ args: ['x', 'xq', 'xs', 'M', 'K'] }),
  quantize_i8_static: op({ args: ['x', 'xq', 'xs', 'M', 'K', 'scale'] }),
  matmul_i8_i8: op({ args: ['out', 'xq', 'xs', 'w', 'ws', 'M', 'N', 'K', 'r0', 'r1'], split: OUTPUT_ROWS }),

  rmsnorm_f32: op({ args: ['out', 'x', 'weight', 'rows', 'dim', 'eps'] }),
  silu_f32: op({ args: ['out', 'x', 'n'] }),
  add_f32: op({ args: ['out', 'a', 'b', 'n'] }),
  mul_f32: op({ args: ['out', 'a', 'b', 'n'] }),
  rope_f32: op({ args: ['x', 'heads', 'headDim', 'pos', 'invFreq', 'halves'] }),
  attention_f32: op({
    args: [
      'out',
      'q',
      'qs',
      'keys',
      'values',
      'scores',
      'T',
      'pos0',
      'heads',
      'kvHeads',
      'headDim',
      'sinks',
      'h0',
      'h1',
    ],
    split: {
      rows: 'heads',
      unit: 'query head',
      grain: 1,
      // pos0 + T scores, rounded up to whole cache lines so threads never share one
      scratch: {
        arg: 'scores',
        bytes: (a: { pos0: number; T: number }) => Math.ceil((a.pos0 + a.T) / 16) * 64,
      },
    },
  }),

  dequantize_f16: op({ args: ['dst', 'src', 'n'] }),
  dequantize_bf16: op({ args: ['dst', 'src', 'n'] }),
  dequantize_q8_0: op({ args: ['dst', 'src', 'blocks'] }),
  dequantize_q4_0: op({ args: ['dst', 'src', 'blocks'] }),
  dequantize_q4_1: op({ args: ['dst', 'src', 'blocks'] }),

  transpose_f32: op({ args: ['out', 'a', 'rows', 'cols'] }),
  im2col_f32: op({ args: ['cols', 'x', 'B', 'H', 'W', 'C', 'k', 's', 'p', 'OH', 'OW'] }),
  col2im_f32: op({ args: ['dx', 'cols', 'B', 'H', 'W', 'C', 'k', 's', 'p', 'OH', 'OW'] }),

  nonzeros_f32: op({ args: ['a', 'n', 'idx', 'val'], returns: 'i32' }),
  eie_spmv: op({
    args: [
      'y',
      'idx',
      'val',
      'nnz',
      'pointers',
      'peStart',
      'entries',
      'codebook',
      'scratch',
      'acc',
      'rows',
      'cols',
      'pes',
      'k0',
      'k1',
    ],
    split: {
      rows: 'pes',
      unit: 'processing element',
      grain: 1,
      scratch: { arg: 'scratch', bytes: (_a: unknown, layout: Layout) => layout.EIE_SCRATCH_BYTES },
    },
  }),
};

type Ops = typeof OPS;
export type OpName = keyof Ops;
type ArgsOf<N extends OpName> = Ops[N]['args'];
type Numbers<A extends readonly string[]> = { [I in keyof A]: number };

/** The module's exports, typed from the table: one number per named argument. */
export type KernelExports = {
  [N in OpName]: (...args: Numbers<ArgsOf<N>>) => Ops[N] extends { returns: string } ? number : void;
} & { [G in keyof Layout]: { value: number } };

/** The ops the thread pool can split. */
export type SplitOpName = { [N in OpName]: Ops[N] extends { split: object } ? N : never }[OpName];

type Split_<N extends SplitOpName> = Ops[N] extends { split: infer S } ? S : never;
type Range<N extends SplitOpName> =
  ArgsOf<N> extends readonly [...string[], infer R0, infer R1] ? R0 | R1 : never;
type RowsArg<N extends SplitOpName> = Split_<N> extends { rows: infer R extends string } ? R : never;
type ScratchArg<N extends SplitOpName> = Split_<N> extends { scratch: { arg: infer A } } ? A : never;

/**
 * The named arguments a caller gives a split op: all but the row range and the scratch (which the
 * backend provides), and the number of rows.
 */
export type SplitArgs<N extends SplitOpName> = Record<
  Exclude<ArgsOf<N>[number], Range<N> | ScratchArg<N>> | RowsArg<N>,
  number
>;

/** What the pool needs of a split op, by index (the index is what the control block carries). */
export interface SplitPlan {
  name: SplitOpName;
  args: readonly string[];
  /** the named argument that counts the rows */
  rows: string;
  grain: number;
  /** position of the scratch argument, or -1 */
  scratchAt: number;
  scratchBytes: ((args: Record<string, number>, layout: Layout) => number) | null;
}

export const SPLIT_OPS: readonly SplitPlan[] = Object.entries(OPS).flatMap(([name, spec]) => {
  const s = (spec as OpSpec<readonly string[]>).split;
  if (!s) return [];
  const args: readonly string[] = spec.args;
  return [
    {
      name: name as SplitOpName,
      args,
      rows: s.rows,
      grain: s.grain,
      scratchAt: s.scratch ? args.indexOf(s.scratch.arg) : -1,
      scratchBytes: s.scratch
        ? (s.scratch.bytes as (args: Record<string, number>, layout: Layout) => number)
        : null,
    },
  ];
});

export const SPLIT_INDEX = Object.fromEntries(SPLIT_OPS.map((p, i) => [p.name, i])) as Record<
  SplitOpName,
  number
>;

/** The most arguments a split op posts through the control block: all of its own but the row range. */
export const MAX_SPLIT_ARGS = Math.max(...SPLIT_OPS.map((p) => p.args.length - 2));

/**
 * Holds the table against an instantiated module: every export described and every description
 * exported with its parameter count (a WebAssembly function's `length`), the row range last, and
 * the layout globals equal to src/tensor/dtype.ts. Throws on the first mismatch.
 */
export function checkKernels(exports: Record<string, unknown>): void {
  for (const [name, spec] of Object.entries(OPS)) {
    const fn = exports[name];
    if (typeof fn !== 'function') throw new Error(`kernel module lacks the export ${name}`);
    if (fn.length !== spec.args.length)
      throw new Error(
        `kernel ${name} takes ${fn.length} arguments, its description names ${spec.args.length}`,
      );
  }
  for (const p of SPLIT_OPS)
    if (p.scratchAt >= p.args.length - 2)
      throw new Error(`kernel ${p.name}: its scratch argument must come before the row range`);
  // asc exports the imported memory as well
  const described = new Set<string>(['memory', ...Object.keys(OPS), ...LAYOUT_GLOBALS]);
  for (const name of Object.keys(exports))
    if (!described.has(name)) throw new Error(`kernel module export ${name} has no description in ops.ts`);
  const layout = readLayout(exports);
  const blocks = [
    ['q8_0', layout.Q8_0_BYTES],
    ['q4_0', layout.Q4_0_BYTES],
    ['q4_1', layout.Q4_1_BYTES],
  ] as const;
  for (const [dtype, bytes] of blocks)
    if (DTYPES[dtype].blockSize !== layout.QK || DTYPES[dtype].bytes !== bytes)
      throw new Error(
        `kernel layout of ${dtype} (${layout.QK} in ${bytes} bytes) differs from DTYPES (${DTYPES[dtype].blockSize} in ${DTYPES[dtype].bytes})`,
      );
}

export function readLayout(exports: Record<string, unknown>): Layout {
  return Object.fromEntries(
    LAYOUT_GLOBALS.map((g) => {
      const global = exports[g] as { value: unknown } | undefined;
      if (typeof global?.value !== 'number') throw new Error(`kernel module lacks the global ${g}`);
      return [g, global.value];
    }),
  ) as Layout;
}

/** A split op's positional arguments from named ones, the row range left out (scratch: 0 until placed). */
export function positional(plan: SplitPlan, named: Record<string, number>): number[] {
  const out = new Array<number>(plan.args.length - 2);
  for (let i = 0; i < out.length; i++) {
    const v = i === plan.scratchAt ? 0 : named[plan.args[i]];
    if (v === undefined) throw new Error(`kernel ${plan.name}: argument ${plan.args[i]} missing`);
    out[i] = v;
  }
  return out;
}
