import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type DeepCompressionReport, deepCompression } from '../compress/deep-compression.js';
import { loadCompressed } from '../compress/load.js';
import { writeEffml } from '../formats/effml.js';
import { createBackend } from '../kernels/index.js';
import { histogram, lineChartSvg } from '../report/svg-chart.js';
import { loadIdxDataset, takeFirst } from '../nn/dataset.js';
import { NETWORKS } from '../nn/lenet.js';
import { accuracy } from '../nn/train.js';
import { type ModelOptions, numberOption, positiveInt } from './model-options.js';
import { progress } from './progress.js';
import { table } from '../report/table.js';

/**
 * Per network: the paper's recipe (per-layer quality, bits, index width), tuned on Fashion-MNIST for
 * the paper's compression ratio (README, "Deep Compression"). The fc layers share 15 weights, so
 * lenet-300-100's output also runs on EIE.
 */
const DEFAULTS: Record<
  string,
  Record<'epochs' | 'quality' | 'bits' | 'indexBits' | 'rounds' | 'retrainEpochs', string>
> = {
  'lenet-300-100': {
    epochs: '20',
    quality: 'fc1=2.6,fc2=2.8,fc3=1.9',
    bits: 'fc=4',
    indexBits: 'fc=5',
    rounds: '8',
    retrainEpochs: '5',
  },
  'lenet-5': {
    epochs: '15',
    quality: 'conv1=0.5,conv2=1.7,fc1=2.35,fc2=1.6',
    bits: 'conv=8,fc=4',
    indexBits: 'conv=8,fc=5',
    rounds: '4',
    retrainEpochs: '3',
  },
};

interface CompressFlags extends ModelOptions {
  data: string;
  output: string;
  epochs?: string;
  batchSize: string;
  lr: string;
  weightDecay: string;
  pruneQuality?: string;
  pruneIterations?: string;
  retrainEpochs?: string;
  retrainLr: string;
  bits?: string;
  indexBits?: string;
  finetuneEpochs: string;
  finetuneLr: string;
  sensitivity: string;
  seed: string;
  limitTrain?: string;
  limitTest?: string;
  json?: boolean;
}

export function registerCompress(program: Command): void {
  program
    .command('compress')
    .description(
      'Deep Compression: train, prune and retrain, share weights, Huffman-code; writes a .effml file and a report',
    )
    .argument('<network>', Object.keys(NETWORKS).join(' or '))
    .requiredOption('--data <dir>', 'MNIST-style folder of IDX files (train-*, t10k-*; plain or .gz)')
    .requiredOption('-o, --output <dir>', 'folder for model.effml, report.json, report.md and the plots')
    .option('--epochs <n>', 'dense training epochs (default: 20 for lenet-300-100, 15 for lenet-5)')
    .option('--batch-size <n>', 'mini-batch size', '64')
    .option('--lr <x>', 'Adam learning rate of dense training', '0.001')
    .option('--weight-decay <x>', 'L2 penalty on the weights in training and retraining', '0')
    .option(
      '--prune-quality <list>',
      'per layer: prune |w| <= quality x std (layer=q,...; conv= / fc= for all of a kind; or one number)',
    )
    .option(
      '--prune-iterations <n>',
      'prune-and-retrain rounds (default: 8 for lenet-300-100, 4 for lenet-5)',
    )
    .option(
      '--retrain-epochs <n>',
      'epochs of retraining per round (default: 5 for lenet-300-100, 3 for lenet-5)',
    )
    .option('--retrain-lr <x>', 'Adam learning rate of retraining', '0.001')
    .option(
      '--bits <list>',
      'weight bits per layer (default: fc=4 for lenet-300-100, conv=8,fc=4 for lenet-5)',
    )
    .option('--index-bits <list>', 'relative index bits per layer (default: fc=5; conv=8,fc=5)')
    .option('--finetune-epochs <n>', 'epochs of centroid fine-tuning', '3')
    .option('--finetune-lr <x>', 'SGD learning rate of the centroids', '0.0001')
    .option(
      '--sensitivity <list>',
      'kept fractions of the per-layer pruning sweep ("" to skip)',
      '1,0.5,0.3,0.2,0.1,0.05',
    )
    .option('--seed <n>', 'seed of initialization, shuffling and dropout', '1')
    .option('--limit-train <n>', 'use only the first n training images')
    .option('--limit-test <n>', 'use only the first n test images')
    .option('-t, --threads <n>', 'compute threads (default: EFFML_THREADS or all cores)')
    .option('--backend <name>', 'wasm or reference', 'wasm')
    .option('--json', 'print the report as JSON')
    .action(async (name: string, f: CompressFlags) => {
      const network = NETWORKS[name];
      if (!network)
        throw new RangeError(`unknown network ${name}; choose ${Object.keys(NETWORKS).join(' or ')}`);
      const d = DEFAULTS[name];
      const layers = network.layers.flatMap((l) => ('name' in l ? [l.name] : []));
      let train = loadIdxDataset(f.data, 'train');
      let test = loadIdxDataset(f.data, 'test');
      const limitTrain = positiveInt('--limit-train', f.limitTrain);
      const limitTest = positiveInt('--limit-test', f.limitTest);
      if (limitTrain) train = takeFirst(train, limitTrain);
      if (limitTest) test = takeFirst(test, limitTest);
      const backend = await createBackend({
        backend: f.backend,
        threads: positiveInt('--threads', f.threads),
      });
      let [bar, current] = [progress(''), ''];
      const t0 = performance.now();
      try {
        const { report, file } = deepCompression({
          network,
          train,
          test,
          backend,
          seed: Number(positiveInt('--seed', f.seed)),
          batchSize: Number(positiveInt('--batch-size', f.batchSize)),
          epochs: Number(positiveInt('--epochs', f.epochs ?? d.epochs)),
          lr: Number(numberOption('--lr', f.lr)),
          weightDecay: Number(numberOption('--weight-decay', f.weightDecay)),
          pruneQuality: perLayer('--prune-quality', f.pruneQuality ?? d.quality, layers),
          pruneIterations: Number(positiveInt('--prune-iterations', f.pruneIterations ?? d.rounds)),
          retrainEpochs: Number(positiveInt('--retrain-epochs', f.retrainEpochs ?? d.retrainEpochs)),
          retrainLr: Number(numberOption('--retrain-lr', f.retrainLr)),
          weightBits: perLayer('--bits', f.bits ?? d.bits, layers),
          indexBits: perLayer('--index-bits', f.indexBits ?? d.indexBits, layers),
          finetuneEpochs: Number(positiveInt('--finetune-epochs', f.finetuneEpochs)),
          finetuneLr: Number(numberOption('--finetune-lr', f.finetuneLr)),
          sensitivity:
            f.sensitivity.trim() === ''
              ? []
              : f.sensitivity.split(',').map((v) => Number(numberOption('--sensitivity', v))),
          onProgress: (stage, done, total) => {
            if (stage !== current) {
              bar.done();
              [bar, current] = [progress(stage), stage];
            }
            bar.update(done, total);
          },
        });
        bar.done();
        mkdirSync(f.output, { recursive: true });
        const modelPath = join(f.output, 'model.effml');
        const fileBytes = writeEffml(modelPath, file);
        // the file must give back exactly the accuracy measured before saving
        const decoded = accuracy(loadCompressed(modelPath, backend).net, test);
        const seconds = (performance.now() - t0) / 1000;
        const summary = {
          ...report,
          fileBytes,
          ratio: report.originalBytes / fileBytes,
          decodedAccuracy: decoded,
          wallSeconds: seconds,
        };
        const json = JSON.stringify({ ...summary, distributions: undefined }, null, 2);
        writeFileSync(join(f.output, 'report.json'), json + '\n');
        const text = formatReport(summary, { train: train.count, test: test.count });
        writeFileSync(join(f.output, 'report.md'), text + '\n');
        writePlots(f.output, report);
        console.log(f.json ? json : text);
        if (decoded !== report.accuracy.finetuned)
          throw new Error(
            `decoded accuracy ${decoded} differs from ${report.accuracy.finetuned} measured before saving`,
          );
      } finally {
        backend.dispose();
      }
    });

  program
    .command('evaluate')
    .description('decode a compressed network (.effml) and measure its test accuracy')
    .argument('<file>', 'a .effml file written by effml compress')
    .requiredOption('--data <dir>', 'MNIST-style folder of IDX files')
    .option('--limit-test <n>', 'use only the first n test images')
    .option('--json', 'print JSON')
    .action(async (path: string, f: { data: string; limitTest?: string; json?: boolean }) => {
      const backend = await createBackend();
      try {
        const { net, meta } = loadCompressed(path, backend);
        const limit = positiveInt('--limit-test', f.limitTest);
        let test = loadIdxDataset(f.data, 'test');
        if (limit) test = takeFirst(test, limit);
        const acc = accuracy(net, test);
        const result = {
          network: meta.network.name,
          examples: test.count,
          accuracy: acc,
          savedAccuracy: meta.accuracy,
          savedExamples: meta.testExamples,
        };
        console.log(
          f.json
            ? JSON.stringify(result, null, 2)
            : `${meta.network.name}: test accuracy ${pct(acc)} on ${test.count} images (saved: ${pct(meta.accuracy)} on ${meta.testExamples})`,
        );
      } finally {
        backend.dispose();
      }
    });
}

/**
 * "fc1=1.8,conv=0.5" or "1.2" -> a value for every named layer: a bare number sets all layers,
 * conv= / fc= every layer of that kind, a layer name that layer (most specific wins).
 */
export function perLayer(flag: string, spec: string, layers: string[]): Record<string, number> {
  const kind = (l: string) => l.replace(/\d+$/, '');
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => (part.includes('=') ? part.split('=') : ['*', part]))
    .map(([key, value]) => ({ key, value: Number(numberOption(flag, value)) }));
  const rank = (key: string) => (key === '*' ? 0 : layers.includes(key) ? 2 : 1);
  const out: Record<string, number> = {};
  for (const { key, value } of entries.sort((a, b) => rank(a.key) - rank(b.key))) {
    const targets = layers.filter((l) => key === '*' || l === key || kind(l) === key);
    if (targets.length === 0)
      throw new RangeError(`${flag}: no layer matches ${key} (layers: ${layers.join(', ')})`);
    for (const l of targets) out[l] = value;
  }
  for (const l of layers) if (out[l] === undefined) throw new RangeError(`${flag}: no value for layer ${l}`);
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
/** decimal kilobytes, as the paper counts */
const kb = (b: number) => `${(b / 1000).toFixed(1)} KB`;

function formatReport(
  r: DeepCompressionReport & {
    fileBytes: number;
    ratio: number;
    decodedAccuracy: number;
    wallSeconds: number;
  },
  n: { train: number; test: number },
): string {
  const rows = r.layers.map((l) => [
    l.name,
    l.weights,
    pct(l.kept),
    l.weightBits,
    l.indexBits,
    l.huffmanWeightBits.toFixed(2),
    l.huffmanIndexBits.toFixed(2),
    l.fillers,
    kb(l.bytes),
  ]);
  const totalWeights = r.layers.reduce((a, l) => a + l.weights, 0);
  const kept = r.layers.reduce((a, l) => a + l.kept * l.weights, 0);
  rows.push(['total', totalWeights, pct(kept / totalWeights), '', '', '', '', '', kb(r.payloadBytes)]);
  const a = r.accuracy;
  return [
    `# Deep Compression of ${r.network} (${n.train} training / ${n.test} test images)`,
    '',
    table(
      ['layer', '#weights', 'kept', 'w bits', 'idx bits', 'huff w', 'huff idx', 'fillers', 'bytes'],
      rows,
    ),
    '',
    `original (f32) ${kb(r.originalBytes)} -> file ${kb(r.fileBytes)} (payload ${kb(r.payloadBytes)}): ${r.ratio.toFixed(1)}x smaller`,
    `test accuracy: baseline ${pct(a.baseline)}, pruned ${pct(a.pruned)}, shared ${pct(a.quantized)}, fine-tuned ${pct(a.finetuned)}, decoded from the file ${pct(r.decodedAccuracy)}`,
    `accuracy change vs baseline: ${((a.finetuned - a.baseline) * 100).toFixed(2)} points`,
    `time: ${Object.entries(r.seconds)
      .map(([k, s]) => `${k} ${s.toFixed(1)}s`)
      .join(', ')}; whole run ${r.wallSeconds.toFixed(1)}s`,
  ].join('\n');
}

function writePlots(dir: string, r: DeepCompressionReport): void {
  if (r.sensitivity.length && r.sensitivity[0].points.length)
    writeFileSync(
      join(dir, 'sensitivity.svg'),
      lineChartSvg({
        title: `${r.network}: pruning sensitivity (one layer pruned, no retraining)`,
        xLabel: 'fraction of weights kept',
        yLabel: 'test accuracy',
        series: r.sensitivity.map((s) => ({ name: s.layer, points: s.points })),
      }),
    );
  for (const d of r.distributions) {
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of d.dense) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    writeFileSync(
      join(dir, `weights-${d.layer}.svg`),
      lineChartSvg({
        title: `${r.network} ${d.layer}: weight distribution`,
        xLabel: 'weight value',
        yLabel: 'count',
        series: [
          { name: 'dense', points: histogram(d.dense, 100, lo, hi) },
          { name: 'after pruning', points: histogram(d.pruned, 100, lo, hi) },
        ],
        markers: { name: 'shared weights', xs: [...d.codebook] },
      }),
    );
  }
}
