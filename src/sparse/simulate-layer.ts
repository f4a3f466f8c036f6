/** The EIE simulator on one layer: a run, and sweeps of the FIFO depth and of the PE count. */
import type { Random } from '../tensor/random.js';
import { type SharedMatrix, buildEie, workPerColumn } from './eie-layer.js';
import { type SimulationResult, simulateEie } from './simulator.js';

/** The FIFO depths and PE counts a sweep visits. */
export const EIE_SWEEP = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** The columns of the non-zero activations: each one with probability `density`, in order. */
export function activeColumns(cols: number, density: number, random: Random): number[] {
  return Array.from({ length: cols }, (_, j) => j).filter(() => random.next() < density);
}

/** `m` stored over `pes` PEs, the `active` activations broadcast through FIFOs of depth `fifo`. */
export function simulateLayer(
  m: SharedMatrix,
  active: ArrayLike<number>,
  pes: number,
  fifo: number,
): SimulationResult {
  return simulateEie(workPerColumn(buildEie(m.codes, m.codebook, m.rows, m.cols, pes)), active, fifo);
}

export interface EieSweep {
  pes: number;
  fifo: number;
  /** over EIE_SWEEP's FIFO depths at `pes` PEs */
  byFifo: SimulationResult[];
  /** over EIE_SWEEP's PE counts at FIFO depth `fifo` */
  byPes: SimulationResult[];
  /** cycles of one PE at FIFO depth `fifo`: what speedups are measured against */
  serialCycles: number;
}

/** Each of FIFO depth and PE count swept over EIE_SWEEP, the other held at the given value. */
export function sweepEie(m: SharedMatrix, active: ArrayLike<number>, pes: number, fifo: number): EieSweep {
  return {
    pes,
    fifo,
    byFifo: EIE_SWEEP.map((depth) => simulateLayer(m, active, pes, depth)),
    byPes: EIE_SWEEP.map((n) => simulateLayer(m, active, n, fifo)),
    serialCycles: simulateLayer(m, active, 1, fifo).cycles,
  };
}

/** A result without its per-PE array: the least and most busy PE instead. */
export function summarizeSimulation(r: SimulationResult) {
  return {
    pes: r.pes,
    fifo: r.fifo,
    activations: r.activations,
    cycles: r.cycles,
    idealCycles: r.idealCycles,
    loadEfficiency: r.loadEfficiency,
    stalls: r.stalls,
    busyMin: Math.min(...r.busy),
    busyMax: Math.max(...r.busy),
  };
}
