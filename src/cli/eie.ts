import type { Command } from 'commander';
import {
  EIE_SWEEP,
  Random,
  type SharedMatrix,
  activeColumns,
  convertToEie,
  createBackend,
  eieVsDense,
  percent,
  randomSharedMatrix,
  sharedMatrixOfFile,
  simulateLayer,
  summarizeSimulation,
  sweepEie,
  table,
  writeSweepFiles,
  UserError,
} from '../index.js';
import { loadSplit } from './datasets.js';
import { numberOption, positiveInt } from './model-options.js';

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
      `also sweep the FIFO depth and the PE count over ${EIE_SWEEP.join(', ')} (CSV and SVG in --output)`,
    )
    .option('--seed <n>', 'seed of the random weights and activations', '1')
    .option('-o, --output <dir>', 'folder for the sweep CSVs and plots')
    .option('--json', 'print JSON')
    .action((f: SimulateFlags) => {
      const random = new Random(Number(positiveInt('--seed', f.seed)));
      const actDensity = fraction('--act-density', f.actDensity);
      const m = matrixFor(f.layer, fraction('--density', f.density), random);
      const active = activeColumns(m.cols, actDensity, random);
      const one = simulateLayer(
        m,
        active,
        Number(positiveInt('--pes', f.pes)),
        Number(positiveInt('--fifo', f.fifo)),
      );
      if (f.sweep && !f.output) throw new UserError('--sweep writes CSV and SVG files: give --output <dir>');
      const sweep = f.sweep ? sweepEie(m, active, one.pes, one.fifo) : undefined;
      if (sweep && f.output) writeSweepFiles(f.output, sweep, f.layer);
      const fifoSweep = sweep?.byFifo.map(summarizeSimulation);
      const peSweep = sweep?.byPes.map((r) => ({
        ...summarizeSimulation(r),
        speedup: sweep.serialCycles / r.cycles,
      }));
      if (f.json)
        return console.log(
          JSON.stringify(
            { layer: f.layer, rows: m.rows, cols: m.cols, ...summarizeSimulation(one), fifoSweep, peSweep },
            null,
            2,
          ),
        );
      console.log(
        `${f.layer}: ${m.rows} x ${m.cols}, ${active.length} non-zero activations, ${one.pes} PEs, FIFO ${one.fifo}\n` +
          `cycles ${one.cycles} (balanced bound ${Math.ceil(one.idealCycles)}), load efficiency ${percent(one.loadEfficiency, 1)}, broadcast stalls ${one.stalls}`,
      );
      if (fifoSweep)
        console.log(
          '\n' +
            table(
              ['FIFO depth', 'cycles', 'efficiency', 'stalls'],
              fifoSweep.map((r) => [r.fifo, r.cycles, percent(r.loadEfficiency, 1), r.stalls]),
            ),
        );
      if (peSweep)
        console.log(
          '\n' +
            table(
              ['PEs', 'cycles', 'efficiency', 'stalls', 'speedup'],
              peSweep.map((r) => [
                r.pes,
                r.cycles,
                percent(r.loadEfficiency, 1),
                r.stalls,
                `${r.speedup.toFixed(1)}x`,
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
      const test = loadSplit(f.data, 'test', '--limit-test', f.limitTest);
      const backend = await createBackend();
      try {
        const r = eieVsDense(path, test, Number(positiveInt('--pes', f.pes)), backend);
        if (f.json) return console.log(JSON.stringify(r, null, 2));
        console.log(
          `${r.network} through EIE: test accuracy ${percent(r.accuracy)} on ${r.examples} images; ` +
            `${r.agreeWithDense} of ${r.examples} predictions equal the decoded dense network's\n` +
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
      const { layers, bytes } = convertToEie(path, f.output, Number(positiveInt('--pes', f.pes)));
      console.log(`${f.output}: ${layers} layers over ${f.pes} PEs, ${bytes} bytes`);
    });
}

function fraction(flag: string, v: string): number {
  const x = Number(numberOption(flag, v));
  if (!(x > 0 && x <= 1)) throw new UserError(`${flag} must lie in (0, 1], got ${v}`);
  return x;
}

/** The matrix of "ROWSxCOLS" (random normal weights, pruned and shared) or "file.effml:layer". */
function matrixFor(spec: string, density: number, random: Random): SharedMatrix {
  const shape = /^(\d+)x(\d+)$/.exec(spec);
  if (shape) return randomSharedMatrix(Number(shape[1]), Number(shape[2]), density, random);
  const at = spec.lastIndexOf(':');
  if (at < 0) throw new UserError(`--layer must be ROWSxCOLS or FILE.effml:LAYER, got ${spec}`);
  return sharedMatrixOfFile(spec.slice(0, at), spec.slice(at + 1));
}
