/**
 * The control block the thread pool posts split ops through (see ops.ts): an Int32Array over a
 * SharedArrayBuffer that the main thread and the workers synchronize on with Atomics (no message
 * passing on the hot path). A job is the op's index in SPLIT_OPS, its row count, per-thread
 * scratch stride and its arguments but the row range, which each thread cuts for itself.
 */
import { MAX_SPLIT_ARGS, SPLIT_OPS, type KernelExports } from './ops.js';

export const CTRL = { GEN: 0, DONE: 1, OP: 2, ROWS: 3, STRIDE: 4, ARGS: 5 } as const;
/** big enough for every split op's arguments, by construction */
export const CTRL_INTS = CTRL.ARGS + MAX_SPLIT_ARGS;
/** the OP value that stops the workers */
export const EXIT = -1;

/** Rows [r0, r1) of `rows` for thread `index` of `threads`, cut at multiples of `grain` (a kernel's tile height). */
export function sliceRows(rows: number, index: number, threads: number, grain: number): [number, number] {
  const cut = (t: number) =>
    t === threads ? rows : Math.min(rows, Math.floor((rows * t) / threads / grain) * grain);
  return [cut(index), cut(index + 1)];
}

/** Posts a job; `args` as ops.positional gives them, the scratch argument the base of every thread's. */
export function postJob(
  ctrl: Int32Array,
  op: number,
  rows: number,
  stride: number,
  args: readonly number[],
): void {
  if (args.length > MAX_SPLIT_ARGS)
    throw new RangeError(`${args.length} arguments overflow the control block`);
  ctrl[CTRL.OP] = op;
  ctrl[CTRL.ROWS] = rows;
  ctrl[CTRL.STRIDE] = stride;
  for (let i = 0; i < args.length; i++) ctrl[CTRL.ARGS + i] = args[i];
}

/** one argument array per op, reused: a decode step posts hundreds of jobs */
const callArgs = SPLIT_OPS.map((p) => new Array<number>(p.args.length).fill(0));

export function runSlice(k: KernelExports, ctrl: Int32Array, index: number, threads: number): void {
  const op = ctrl[CTRL.OP];
  const plan = SPLIT_OPS[op];
  const [r0, r1] = sliceRows(ctrl[CTRL.ROWS], index, threads, plan.grain);
  if (r0 >= r1) return;
  const args = callArgs[op];
  const n = args.length - 2;
  for (let i = 0; i < n; i++) args[i] = ctrl[CTRL.ARGS + i];
  if (plan.scratchAt >= 0) args[plan.scratchAt] += index * ctrl[CTRL.STRIDE];
  args[n] = r0;
  args[n + 1] = r1;
  (k[plan.name] as (...a: number[]) => void)(...args);
}

/** Busy-waits a little before sleeping: a decode step posts jobs microseconds apart. */
export const SPIN_ITERATIONS = 20000;

export function waitWhileEqual(ctrl: Int32Array, slot: number, value: number): void {
  for (let i = 0; i < SPIN_ITERATIONS; i++) if (Atomics.load(ctrl, slot) !== value) return;
  while (Atomics.load(ctrl, slot) === value) Atomics.wait(ctrl, slot, value);
}
