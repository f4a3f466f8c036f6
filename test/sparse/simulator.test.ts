import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEie, workPerColumn } from '../../src/sparse/eie-layer.js';
import { simulateEie } from '../../src/sparse/simulator.js';
import { rng } from '../helpers.js';

const work = (...pes: number[][]) => pes.map((w) => Uint32Array.from(w));

test('simulator: cycle counts of hand-worked cases', () => {
  // PE0 costs 3,1,1 and PE1 1,1,3 for activations 0,1,2. With a FIFO of 1: cycle 1 broadcasts a0;
  // 2: both pop a0, a1 broadcast; 3: PE1 pops a1, PE0's FIFO still holds a1 (stall); 4: stall;
  // 5: PE0 pops a1, a2 broadcast; 6: both pop a2; 7, 8: PE1 finishes a2.
  const w = work([3, 1, 1], [1, 1, 3]);
  const one = simulateEie(w, [0, 1, 2], 1);
  assert.equal(one.cycles, 8);
  assert.equal(one.stalls, 2);
  assert.deepEqual([...one.busy], [5, 5]);
  assert.equal(one.idealCycles, 5);
  assert.equal(one.loadEfficiency, 5 / 8);
  // a FIFO of 2 absorbs the imbalance: 1 + the busiest PE's work
  assert.equal(simulateEie(w, [0, 1, 2], 2).cycles, 6);
  // an empty column still costs a pointer-read cycle; activations not broadcast cost nothing
  assert.equal(simulateEie(work([0, 5], [0, 0]), [0], 4).cycles, 2);
  assert.equal(simulateEie(work([0, 5], [0, 0]), [], 4).cycles, 0);
});

test('simulator: bounds and trends on a real-sized random layer', () => {
  const random = rng(4);
  const [rows, cols] = [512, 300];
  const codes = Uint8Array.from({ length: rows * cols }, () =>
    random() < 0.1 ? 1 + Math.floor(random() * 15) : 0,
  );
  const active = Array.from({ length: cols }, (_, j) => j).filter(() => random() < 0.5);
  let previous = Infinity;
  for (const pes of [1, 4, 16, 64]) {
    const w = workPerColumn(buildEie(codes, new Float32Array(16), rows, cols, pes));
    const busiest = Math.max(...w.map((pe) => active.reduce((s, j) => s + Math.max(1, pe[j]), 0)));
    const deep = simulateEie(w, active, 1 << 16);
    assert.equal(deep.cycles, 1 + busiest, 'unbounded FIFO: the busiest PE plus the first broadcast');
    let last = Infinity;
    for (const fifo of [1, 2, 4, 8, 32]) {
      const r = simulateEie(w, active, fifo);
      assert.ok(r.cycles >= r.idealCycles && r.cycles >= active.length, 'never faster than total work / N');
      assert.ok(r.cycles <= last, `deeper FIFO never slower (${pes} PEs, depth ${fifo})`);
      last = r.cycles;
    }
    assert.ok(last < previous, 'more PEs, fewer cycles');
    previous = last;
  }
});
