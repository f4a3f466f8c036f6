import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadCompressed } from '../compress/load.js';
import { lineChartSvg } from '../report/svg-chart.js';
import { readEffml, writeEffml } from '../formats/effml.js';
import { createBackend } from '../kernels/index.js';
import { loadIdxDataset, takeFirst } from '../nn/dataset.js';
import { predict } from '../nn/train.js';
import { Random } from '../tensor/random.js';
import { type SharedMatrix, buildEie, eieCodes, shareForEie, workPerColumn } from '../sparse/eie-layer.js';
import { eieNetworkOf, loadEieNetwork, predictEie, toEieFile } from '../sparse/eie-network.js';
import { type SimulationResult, simulateEie } from '../sparse/simulator.js';
import { numberOption, positiveInt } from './model-options.js';
import { table } from '../report/table.js';

const SWEEP = [1, 2, 4, 8, 16, 32, 64, 128, 256];

interface SimulateFlags {
  layer: string;
  density: string;
  actDensity: string;
  pes: string;
  fifo: string;
  sweep?: boolean;
  seed: string;
  output?: string;
  json?: boolean;
}

export function registerEie(program: Command): void {
  const eie = program
    .command('eie')
    .description(
      'EIE: run compressed fully-connected networks in sparse form, and simulate the EIE PE array',
    );

  eie
    .command('simulate')
    .description(
      'cycle-level model of the EIE array on one layer: cycles, per-PE busy cycles, load efficiency',
    )
    .requiredOption(
      '--layer <layer>',
      'ROWSxCOLS (random weights at --density) or FILE.effml:LAYER (a compressed layer)',
    )
    .option('--density <x>', 'weight density of a ROWSxCOLS layer', '0.1')
    .option('--act-density <x>', 'fraction of non-zero input activations', '1')
    .option('--pes <n>', 'processing elements', '64')
    .option('--fifo <n>', 'activation FIFO depth', '8')
    .option(
      '--sweep',
      `also sweep the FIFO depth and the PE count over ${SWEEP.join(', ')} (CSV and SVG in --output)`,
    )
    .option('--seed <n>', 'seed of the random weights and activations', '1')
    .option('-o, --output <dir>', 'folder for the sweep CSVs and plots')
    .option('--json', 'print JSON')
    .action((f: SimulateFlags) => {
      const random = new Random(Number(positiveInt('--seed', f.seed)));
      const actDensity = fraction('--act-density', f.actDensity);
      const source = matrixFor(f.layer, fraction('--density', f.density), random);
      const build = (pes: number) => buildEie(source.codes, source.codebook, source.rows, source.cols, pes);
      const probe = source;
      const active = Array.from({ length: probe.cols }, (_, j) => j).filter(() => random.next() < actDensity);
      const run = (pes: number, fifo: number) => simulateEie(workPerColumn(build(pes)), active, fifo);
      const one = run(Number(positiveInt('--pes', f.pes)), Number(positiveInt('--fifo', f.fifo)));
      const result: Record<string, unknown> = {
        layer: f.layer,
        rows: probe.rows,
        cols: probe.cols,
        ...summary(one),
      };
      if (f.sweep) {
        if (!f.output) throw new RangeError('--sweep writes CSV and SVG files: give --output <dir>');
        mkdirSync(f.output, { recursive: true });
        const byFifo = SWEEP.map((fifo) => run(one.pes, fifo));
        const serial = run(1, one.fifo).cycles;
        const byPes = SWEEP.map((pes) => run(pes, one.fifo));
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
                (serial / r.cycles).toFixed(2),
              ].join(','),
            )
            .join('\n') +
          '\n';
        writeFileSync(join(f.output, 'fifo-sweep.csv'), csv(byFifo));
        writeFileSync(join(f.output, 'pe-sweep.csv'), csv(byPes));
        const log2 = (n: number) => Math.log2(n);
        writeFileSync(
          join(f.output, 'fifo-sweep.svg'),
          lineChartSvg({
            title: `EIE load efficiency vs FIFO depth (${one.pes} PEs, ${f.layer})`,
            xLabel: 'log2 FIFO depth',
            yLabel: 'load efficiency',
            series: [{ name: 'efficiency', points: byFifo.map((r) => [log2(r.fifo), r.loadEfficiency]) }],
          }),
        );
        writeFileSync(
          join(f.output, 'pe-sweep.svg'),
          lineChartSvg({
            title: `EIE speedup vs PEs (FIFO ${one.fifo}, ${f.layer})`,
            xLabel: 'log2 PEs',
            yLabel: 'log2 speedup over 1 PE',
            series: [
              { name: 'simulated', points: byPes.map((r) => [log2(r.pes), log2(serial / r.cycles)]) },
              { name: 'linear', points: byPes.map((r) => [log2(r.pes), log2(r.pes)]) },
            ],
          }),
        );
        result.fifoSweep = byFifo.map(summary);
        result.peSweep = byPes.map((r) => ({ ...summary(r), speedup: serial / r.cycles }));
      }
      if (f.json) return console.log(JSON.stringify(result, null, 2));
      console.log(
        `${f.layer}: ${probe.rows} x ${probe.cols}, ${active.length} non-zero activations, ${one.pes} PEs, FIFO ${one.fifo}\n` +
          `cycles ${one.cycles} (balanced bound ${Math.ceil(one.idealCycles)}), load efficiency ${(one.loadEfficiency * 100).toFixed(1)}%, broadcast stalls ${one.stalls}`,
      );
      const sweeps = [
        ['FIFO depth', result.fifoSweep],
        ['PEs', result.peSweep],
      ] as const;
      for (const [what, rows] of sweeps)
        if (Array.isArray(rows))
          console.log(
            '\n' +
              table(
                [what, 'cycles', 'efficiency', 'stalls', ...(what === 'PEs' ? ['speedup'] : [])],
                (rows as (ReturnType<typeof summary> & { speedup?: number })[]).map((r) => [
                  what === 'PEs' ? r.pes : r.fifo,
                  r.cycles,
                  `${(r.loadEfficiency * 100).toFixed(1)}%`,
                  r.stalls,
                  ...(r.speedup === undefined ? [] : [`${r.speedup.toFixed(1)}x`]),
                ]),
              ),
          );
    });

  eie
    .command('run')
    .description(
      'classify the test set with a compressed MLP entirely through EIE SpMV, next to the decoded dense network',
    )
    .argument('<file>', '.effml from effml compress lenet-300-100 (4-bit weights) or effml eie convert')
    .requiredOption('--data <dir>', 'MNIST-style folder of IDX files')
    .option('--pes <n>', 'processing elements of layers stored in Deep Compression form', '2')
    .option('--limit-test <n>', 'use only the first n test images')
    .option('--json', 'print JSON')
    .action(async (path: string, f: { data: string; pes: string; limitTest?: string; json?: boolean }) => {
      const backend = await createBackend();
      try {
        let test = loadIdxDataset(f.data, 'test');
        const limit = positiveInt('--limit-test', f.limitTest);
        if (limit) test = takeFirst(test, limit);
        const eieNet = loadEieNetwork(path, Number(positiveInt('--pes', f.pes)));
        const { net } = loadCompressed(path, backend);
        let t = performance.now();
        const sparse = predictEie(eieNet, test, backend);
        const eieMs = performance.now() - t;
        t = performance.now();
        const dense = predict(net, test, 1);
        const denseMs = performance.now() - t;
        let agree = 0;
        let correct = 0;
        for (let i = 0; i < test.count; i++) {
          agree += sparse[i] === dense[i] ? 1 : 0;
          correct += sparse[i] === test.labels[i] ? 1 : 0;
        }
        const r = {
          network: eieNet.name,
          examples: test.count,
          accuracy: correct / test.count,
          agreeWithDense: agree,
          eieMsPerImage: eieMs / test.count,
          denseMsPerImage: denseMs / test.count,
          layers: eieNet.layers.map((l) => ({
            rows: l.rows,
            cols: l.cols,
            pes: l.pes,
            entries: l.entries.length,
          })),
        };
        if (f.json) return console.log(JSON.stringify(r, null, 2));
        console.log(
          `${r.network} through EIE: test accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.examples} images; ` +
            `${agree} of ${r.examples} predictions equal the decoded dense network's\n` +
            `one image at a time: EIE ${r.eieMsPerImage.toFixed(3)} ms, dense ${r.denseMsPerImage.toFixed(3)} ms`,
        );
      } finally {
        backend.dispose();
      }
    });

  eie
    .command('convert')
    .description(
      "rewrite a compressed network's linear weights in EIE's form (CSC per PE, 4-bit index and run)",
    )
    .argument('<file>', '.effml from effml compress (4-bit weights)')
    .requiredOption('-o, --output <file>', 'the .effml to write')
    .option('--pes <n>', 'processing elements', '64')
    .action((path: string, f: { output: string; pes: string }) => {
      const file = readEffml(path);
      const net = eieNetworkOf(file, path, Number(positiveInt('--pes', f.pes)));
      const bytes = writeEffml(f.output, toEieFile(file, net));
      console.log(`${f.output}: ${net.layers.length} layers over ${f.pes} PEs, ${bytes} bytes`);
    });
}

function fraction(flag: string, v: string): number {
  const x = Number(numberOption(flag, v));
  if (!(x > 0 && x <= 1)) throw new RangeError(`${flag} must lie in (0, 1], got ${v}`);
  return x;
}

function summary(r: SimulationResult) {
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

/** The matrix of "ROWSxCOLS" (random normal weights, pruned and shared) or "file.effml:layer". */
function matrixFor(spec: string, density: number, random: Random): SharedMatrix {
  const shape = /^(\d+)x(\d+)$/.exec(spec);
  if (shape) {
    const [rows, cols] = [Number(shape[1]), Number(shape[2])];
    if (rows * cols > 2 ** 28) throw new RangeError(`--layer ${spec} has more than 2^28 weights`);
    const w = Float32Array.from({ length: rows * cols }, () => random.normal());
    return shareForEie(w, rows, cols, density);
  }
  const at = spec.lastIndexOf(':');
  if (at < 0) throw new RangeError(`--layer must be ROWSxCOLS or FILE.effml:LAYER, got ${spec}`);
  const [file, name] = [spec.slice(0, at), spec.slice(at + 1)];
  const net = loadEieNetwork(file, 1);
  const k = net.names.indexOf(name);
  if (k < 0) throw new RangeError(`${file} has no linear layer ${name} (layers: ${net.names.join(', ')})`);
  return eieCodes(net.layers[k]);
}
