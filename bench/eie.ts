/**
 * EIE benchmark: y = W a + b on fully-connected layers of real sizes, the EIE SpMV (pruned to a
 * weight density, 16 shared weights, zero activations skipped) against the dense f32 WASM matvec of
 * the same layer, both on every thread, in this run. Ideal speedup = 1 / (weight density x
 * activation density): what skipping the zeros would give if a sparse entry cost what a dense one does.
 */
import { WasmBackend, defaultThreads } from '../src/kernels/index.js';
import { table } from '../src/report/table.js';
import { buildEie, eieToDense } from '../src/sparse/eie-layer.js';
import { freeOnBackend, placeOnBackend } from '../src/sparse/eie-network.js';
import { Random } from '../src/tensor/random.js';
import { secondsPerCall } from './timing.js';

/** [name, rows (outputs), cols (inputs)] */
const LAYERS: [string, number, number][] = [
  ['LeNet-300-100 fc1', 300, 784],
  ['AlexNet fc6', 4096, 9216],
  ['AlexNet fc7', 4096, 4096],
  ['AlexNet fc8', 1000, 4096],
  ['VGG-16 fc6', 4096, 25088],
];
const WEIGHT_DENSITIES = [0.04, 0.1, 0.2];
const ACT_DENSITIES = [1, 0.5, 0.3];

export interface EieRow {
  layer: string;
  weightDensity: number;
  actDensity: number;
  denseMs: number;
  eieMs: number;
  speedup: number;
  ideal: number;
  fractionOfIdeal: number;
  /** entries incl. fillers per non-zero weight */
  entriesPerWeight: number;
}

export interface EieReport {
  threads: number;
  pes: number;
  rows: EieRow[];
}

export async function benchEie(log: (line: string) => void): Promise<EieReport> {
  const threads = defaultThreads();
  const pes = threads;
  const backend = await WasmBackend.create({ threads });
  const random = new Random(1);
  const rows: EieRow[] = [];
  for (const [name, R, C] of LAYERS) {
    const dense = backend.allocF32(R * C);
    const x = backend.allocF32(C);
    const y = backend.allocF32(R);
    const bias = new Float32Array(R).fill(0.1);
    for (const wd of WEIGHT_DENSITIES) {
      const codes = new Uint8Array(R * C);
      let nonzero = 0;
      for (let i = 0; i < codes.length; i++)
        if (random.next() < wd) {
          codes[i] = 1 + random.int(15);
          nonzero++;
        }
      const codebook = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0 : random.normal() * 0.05));
      const layer = placeOnBackend(buildEie(codes, codebook, R, C, pes, bias), backend);
      dense.set(eieToDense(layer));
      for (const ad of ACT_DENSITIES) {
        for (let j = 0; j < C; j++) x[j] = random.next() < ad ? random.next() : 0;
        const denseS = secondsPerCall(() => {
          backend.matvec(y, dense, x, R, C);
          for (let i = 0; i < R; i++) y[i] += bias[i];
        }, 0.3);
        const eieS = secondsPerCall(() => backend.spmvEie(y, layer, x, layer.bias), 0.3);
        const ideal = 1 / (wd * ad);
        const row: EieRow = {
          layer: `${name} ${R}x${C}`,
          weightDensity: wd,
          actDensity: ad,
          denseMs: denseS * 1e3,
          eieMs: eieS * 1e3,
          speedup: denseS / eieS,
          ideal,
          fractionOfIdeal: denseS / eieS / ideal,
          entriesPerWeight: layer.entries.length / nonzero,
        };
        rows.push(row);
        log(
          `${row.layer} weights ${wd * 100}% acts ${ad * 100}%: dense ${row.denseMs.toFixed(3)} ms, EIE ${row.eieMs.toFixed(3)} ms, ${row.speedup.toFixed(1)}x of ${ideal.toFixed(1)}x`,
        );
      }
      freeOnBackend(layer, backend);
    }
    for (const a of [dense, x, y]) backend.free(a);
  }
  backend.dispose();
  return { threads, pes, rows };
}

export function formatEieReport(r: EieReport): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return [
    `EIE SpMV vs dense f32 WASM matvec, ${r.threads} threads, ${r.pes} PEs (median of repeated calls)`,
    table(
      ['layer', 'weights', 'acts', 'dense ms', 'EIE ms', 'speedup', 'ideal', 'of ideal', 'entries/w'],
      r.rows.map((x) => [
        x.layer,
        pct(x.weightDensity),
        pct(x.actDensity),
        x.denseMs.toFixed(3),
        x.eieMs.toFixed(3),
        `${x.speedup.toFixed(1)}x`,
        `${x.ideal.toFixed(1)}x`,
        pct(x.fractionOfIdeal),
        x.entriesPerWeight.toFixed(2),
      ]),
    ),
  ].join('\n');
}
