/**
 * A cycle-level model of the EIE processing-element array. The central unit finds the non-zero
 * activations and broadcasts one per cycle to every PE's activation FIFO, stalling while any FIFO
 * is full. A PE pops an activation, reads its column pointers, and spends one cycle per entry of
 * that column (fillers included; an empty column still costs the one cycle of the pointer read).
 *
 * Within a cycle the PEs act first (pop and/or compute one entry), then the broadcast pushes, so an
 * activation pushed in cycle t is used from cycle t + 1 on.
 */
import { UserError } from '../errors.js';

export interface SimulationResult {
  pes: number;
  fifo: number;
  activations: number;
  cycles: number;
  /** cycles each PE spent on entries or pointer reads */
  busy: Uint32Array;
  /** cycles the broadcast could not push because a FIFO was full */
  stalls: number;
  /** total PE work / N: the cycles of a perfectly balanced array */
  idealCycles: number;
  /** idealCycles / cycles */
  loadEfficiency: number;
}

/**
 * work[k][j]: entries PE k holds in column j; active: the columns of the non-zero activations, in
 * broadcast order.
 */
export function simulateEie(work: Uint32Array[], active: ArrayLike<number>, fifo: number): SimulationResult {
  const N = work.length;
  if (!(Number.isInteger(fifo) && fifo >= 1))
    throw new UserError(`FIFO depth must be a positive integer, got ${fifo}`);
  const cost = (k: number, j: number) => Math.max(1, work[k][j]);
  const queue = new Int32Array(N * fifo);
  const head = new Int32Array(N);
  const size = new Int32Array(N);
  const left = new Int32Array(N);
  const busy = new Uint32Array(N);
  let total = 0;
  for (let k = 0; k < N; k++) for (let t = 0; t < active.length; t++) total += cost(k, active[t]);
  let next = 0;
  let stalls = 0;
  let cycles = 0;
  let pending = active.length * N; // activations not yet popped, summed over PEs
  let running = 0; // PEs with work left on their current column
  while (next < active.length || pending > 0 || running > 0) {
    cycles++;
    for (let k = 0; k < N; k++) {
      if (left[k] === 0 && size[k] > 0) {
        left[k] = cost(k, queue[k * fifo + head[k]]);
        head[k] = (head[k] + 1) % fifo;
        size[k]--;
        pending--;
        running++;
      }
      if (left[k] > 0) {
        busy[k]++;
        if (--left[k] === 0) running--;
      }
    }
    if (next < active.length) {
      let full = false;
      for (let k = 0; k < N && !full; k++) full = size[k] === fifo;
      if (full) stalls++;
      else {
        for (let k = 0; k < N; k++) queue[k * fifo + ((head[k] + size[k]++) % fifo)] = active[next];
        next++;
      }
    }
  }
  const idealCycles = total / N;
  return {
    pes: N,
    fifo,
    activations: active.length,
    cycles,
    busy,
    stalls,
    idealCycles,
    loadEfficiency: cycles === 0 ? 1 : idealCycles / cycles,
  };
}
