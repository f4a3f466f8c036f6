import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { randomSharedMatrix } from '../../src/sparse/shared-matrix.js';
import {
  EIE_SWEEP,
  activeColumns,
  simulateLayer,
  summarizeSimulation,
  sweepEie,
} from '../../src/sparse/simulate-layer.js';
import { writeSweepFiles } from '../../src/sparse/sweep-files.js';
import { Random } from '../../src/tensor/random.js';
import { tempDir } from '../helpers.js';

test('a random layer is pruned to its density and shared among 15 weights', () => {
  const m = randomSharedMatrix(64, 96, 0.2, new Random(1));
  assert.deepEqual([m.rows, m.cols, m.codebook.length, m.codebook[0]], [64, 96, 16, 0]);
  const kept = m.codes.filter((c) => c !== 0).length;
  assert.ok(Math.abs(kept / m.codes.length - 0.2) < 0.01, `kept ${kept}`);
  assert.throws(() => randomSharedMatrix(1 << 15, 1 << 14, 0.1, new Random(1)), {
    name: 'UserError',
    message: /more than 2\^28 weights/,
  });
});

test('a sweep holds one setting and visits EIE_SWEEP in the other; summaries keep the busiest PE', () => {
  const random = new Random(2);
  const m = randomSharedMatrix(128, 64, 0.1, random);
  const active = activeColumns(m.cols, 0.5, random);
  assert.ok(active.every((j, i) => j < m.cols && (i === 0 || j > active[i - 1])));
  const sweep = sweepEie(m, active, 8, 4);
  assert.deepEqual(
    sweep.byFifo.map((r) => [r.pes, r.fifo]),
    EIE_SWEEP.map((fifo) => [8, fifo]),
  );
  assert.deepEqual(
    sweep.byPes.map((r) => [r.pes, r.fifo]),
    EIE_SWEEP.map((pes) => [pes, 4]),
  );
  assert.equal(sweep.serialCycles, sweep.byPes[0].cycles);
  assert.deepEqual(sweep.byFifo[2], simulateLayer(m, active, 8, 4));
  const s = summarizeSimulation(sweep.byFifo[2]);
  assert.equal(s.busyMax, Math.max(...sweep.byFifo[2].busy));
  assert.equal(s.busyMin, Math.min(...sweep.byFifo[2].busy));

  const dir = tempDir();
  writeSweepFiles(dir, sweep, '128x64');
  assert.deepEqual(readdirSync(dir).sort(), [
    'fifo-sweep.csv',
    'fifo-sweep.svg',
    'pe-sweep.csv',
    'pe-sweep.svg',
  ]);
  const csv = readFileSync(`${dir}/pe-sweep.csv`, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'pes,fifo,cycles,ideal_cycles,load_efficiency,stalls,speedup_vs_1_pe');
  assert.equal(csv.length, 1 + EIE_SWEEP.length);
  assert.match(csv[1], /^1,4,\d+,[\d.]+,[\d.]+,\d+,1\.00$/);
  assert.match(
    readFileSync(`${dir}/fifo-sweep.svg`, 'utf8'),
    /EIE load efficiency vs FIFO depth \(8 PEs, 128x64\)/,
  );
});
