import type { Command } from 'commander';
import {
  COMPRESSION_RECIPES,
  compressionReportJson,
  compressToFolder,
  createBackend,
  evaluateCompressed,
  formatCompressionReport,
  nn,
  percent,
  UserError,
} from '../index.js';
import { loadSplit } from './datasets.js';
import { type ModelOptions, numberOption, positiveInt } from './model-options.js';
import { perLayer } from './per-layer.js';
import { stagedProgress } from './progress.js';

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
    .argument('<network>', Object.keys(nn.NETWORKS).join(' or '))
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
      const network = nn.NETWORKS[name];
      if (!network)
        throw new UserError(`unknown network ${name}; choose ${Object.keys(nn.NETWORKS).join(' or ')}`);
      const recipe = COMPRESSION_RECIPES[name];
      const layers = network.layers.flatMap((l) => ('name' in l ? [l.name] : []));
      const byLayer = (flag: string, spec: string | undefined, recipeValue: Record<string, number>) =>
        spec === undefined ? recipeValue : perLayer(flag, spec, layers);
      const train = loadSplit(f.data, 'train', '--limit-train', f.limitTrain);
      const test = loadSplit(f.data, 'test', '--limit-test', f.limitTest);
      const backend = await createBackend({
        backend: f.backend,
        threads: positiveInt('--threads', f.threads),
      });
      const stages = stagedProgress();
      try {
        const summary = compressToFolder(f.output, {
          network,
          train,
          test,
          backend,
          seed: Number(positiveInt('--seed', f.seed)),
          batchSize: Number(positiveInt('--batch-size', f.batchSize)),
          epochs: positiveInt('--epochs', f.epochs) ?? recipe.epochs,
          lr: Number(numberOption('--lr', f.lr)),
          weightDecay: Number(numberOption('--weight-decay', f.weightDecay)),
          pruneQuality: byLayer('--prune-quality', f.pruneQuality, recipe.pruneQuality),
          pruneIterations: positiveInt('--prune-iterations', f.pruneIterations) ?? recipe.pruneIterations,
          retrainEpochs: positiveInt('--retrain-epochs', f.retrainEpochs) ?? recipe.retrainEpochs,
          retrainLr: Number(numberOption('--retrain-lr', f.retrainLr)),
          weightBits: byLayer('--bits', f.bits, recipe.weightBits),
          indexBits: byLayer('--index-bits', f.indexBits, recipe.indexBits),
          finetuneEpochs: Number(positiveInt('--finetune-epochs', f.finetuneEpochs)),
          finetuneLr: Number(numberOption('--finetune-lr', f.finetuneLr)),
          sensitivity:
            f.sensitivity.trim() === ''
              ? []
              : f.sensitivity.split(',').map((v) => Number(numberOption('--sensitivity', v))),
          onProgress: (stage, done, total) => stages.update(stage, done, total),
        });
        stages.done();
        console.log(
          f.json
            ? compressionReportJson(summary)
            : formatCompressionReport(summary, { train: train.count, test: test.count }),
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
      const test = loadSplit(f.data, 'test', '--limit-test', f.limitTest);
      const backend = await createBackend();
      try {
        const r = evaluateCompressed(path, test, backend);
        console.log(
          f.json
            ? JSON.stringify(r, null, 2)
            : `${r.network}: test accuracy ${percent(r.accuracy)} on ${r.examples} images (saved: ${percent(r.savedAccuracy)} on ${r.savedExamples})`,
        );
      } finally {
        backend.dispose();
      }
    });
}
