import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg } from '../report/svg-chart.js';
import type { EieSweep } from './simulate-layer.js';
import type { SimulationResult } from './simulator.js';

/** fifo-sweep.csv / .svg and pe-sweep.csv / .svg into `dir`; `layer` names the layer in the titles. */
export function writeSweepFiles(dir: string, sweep: EieSweep, layer: string): void {
  mkdirSync(dir, { recursive: true });
  const csv = (rows: SimulationResult[]) =>
    'pes,fifo,cycles,ideal_cycles,load_efficiency,stalls,speedup_vs_1_pe\n' +
    rows
      .map((r) =>
        [
          r.pes,
          r.fifo,
          r.cycles,
          r.idealCycles,
          r.loadEfficiency.toFixed(4),
          r.stalls,
          (sweep.serialCycles / r.cycles).toFixed(2),
        ].join(','),
      )
      .join('\n') +
    '\n';
  writeFileSync(join(dir, 'fifo-sweep.csv'), csv(sweep.byFifo));
  writeFileSync(join(dir, 'pe-sweep.csv'), csv(sweep.byPes));
  const log2 = (n: number) => Math.log2(n);
  writeFileSync(
    join(dir, 'fifo-sweep.svg'),
    lineChartSvg({
      title: `EIE load efficiency vs FIFO depth (${sweep.pes} PEs, ${layer})`,
      xLabel: 'log2 FIFO depth',
      yLabel: 'load efficiency',
      series: [{ name: 'efficiency', points: sweep.byFifo.map((r) => [log2(r.fifo), r.loadEfficiency]) }],
    }),
  );
  writeFileSync(
    join(dir, 'pe-sweep.svg'),
    lineChartSvg({
      title: `EIE speedup vs PEs (FIFO ${sweep.fifo}, ${layer})`,
      xLabel: 'log2 PEs',
      yLabel: 'log2 speedup over 1 PE',
      series: [
        {
          name: 'simulated',
          points: sweep.byPes.map((r) => [log2(r.pes), log2(sweep.serialCycles / r.cycles)]),
        },
        { name: 'linear', points: sweep.byPes.map((r) => [log2(r.pes), log2(r.pes)]) },
      ],
    }),
  );
}
