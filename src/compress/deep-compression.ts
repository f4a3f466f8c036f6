/**
 * Deep Compression (Han, Mao, Dally, ICLR 2016) end to end: train the dense network, prune by
 * magnitude and retrain (iteratively), share weights by k-means and fine-tune the centroids, then
 * store the weights sparse with relative indices and Huffman-code both streams. Each stage is a
 * function of its own; this file strings them together and measures every step.
 */
import type { Backend } from '../kernels/backend.js';
import type { EffmlFile } from '../formats/effml.js';
import type { ImageDataset } from '../nn/dataset.js';
import { Adam, type Optimizer } from '../nn/optim.js';
import type { Param } from '../nn/param.js';
import { type NetworkSpec, Sequential } from '../nn/sequential.js';
import { accuracy, fit } from '../nn/train.js';
import { encodeDense, encodeShared, payloadBytes } from './codec.js';
import { pruneBelow, thresholdForFraction, weightStd } from './prune.js';
import { CentroidSGD, type SharedWeights, shareWeights } from './weight-sharing.js';
import { UserError } from '../errors.js';

export interface DeepCompressionOptions {
  network: NetworkSpec;
  train: ImageDataset;
  test: ImageDataset;
  backend: Backend;
  seed: number;
  batchSize: number;
  /** dense training */
  epochs: number;
  lr: number;
  /** L2 penalty on the weights while training and retraining (Han et al. 2015 prune best with L2) */
  weightDecay: number;
  /** per weight layer: prune |w| <= quality × std of the dense layer's weights */
  pruneQuality: Record<string, number>;
  /** the threshold rises to its final value in this many prune-and-retrain rounds */
  pruneIterations: number;
  retrainEpochs: number;
  retrainLr: number;
  /** per weight layer: codebook bits (2^bits - 1 centroids plus the zero weight) */
  weightBits: Record<string, number>;
  /** per weight layer: bits of a relative index */
  indexBits: Record<string, number>;
  finetuneEpochs: number;
  finetuneLr: number;
  /** kept fractions for the pruning sensitivity sweep (empty: no sweep) */
  sensitivity: number[];
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface LayerReport {
  name: string;
  weights: number;
  kept: number;
  weightBits: number;
  indexBits: number;
  /** stored entries, fillers included */
  entries: number;
  fillers: number;
  huffmanWeightBits: number;
  huffmanIndexBits: number;
  /** weights, codebook, code tables and bias in the file */
  bytes: number;
}

export interface DeepCompressionReport {
  network: string;
  accuracy: { baseline: number; pruned: number; quantized: number; finetuned: number };
  layers: LayerReport[];
  /** f32 weights and biases */
  originalBytes: number;
  /** payload (weights, codebooks, code tables, biases); the file adds its header */
  payloadBytes: number;
  seconds: Record<string, number>;
  /** per layer, accuracy with only that layer pruned to each kept fraction (no retraining) */
  sensitivity: { layer: string; points: [number, number][] }[];
  /** per layer: weights before and after pruning, and the final codebook, for the plots */
  distributions: { layer: string; dense: Float32Array; pruned: Float32Array; codebook: Float32Array }[];
}

export interface DeepCompressionResult {
  report: DeepCompressionReport;
  file: EffmlFile;
  net: Sequential;
}

export function deepCompression(o: DeepCompressionOptions): DeepCompressionResult {
  const net = new Sequential(o.network, o.backend, o.seed);
  const weights = net.weights();
  const layerOf = (p: Param) => p.name.slice(0, p.name.lastIndexOf('.'));
  const setting = (table: Record<string, number>, p: Param, what: string): number => {
    const v = table[layerOf(p)];
    if (v === undefined) throw new UserError(`no ${what} given for layer ${layerOf(p)}`);
    return v;
  };
  // every setting checked before hours of training, not after
  for (const [name, v] of Object.entries({
    lr: o.lr,
    retrainLr: o.retrainLr,
    finetuneLr: o.finetuneLr,
    weightDecay: o.weightDecay,
  }))
    if (!(Number.isFinite(v) && v >= 0))
      throw new UserError(`${name} must be a finite number >= 0, got ${v}`);
  for (const p of weights) {
    for (const [table, what] of [
      [o.weightBits, 'weight bits'],
      [o.indexBits, 'index bits'],
    ] as const) {
      const bits = setting(table, p, what);
      if (!(Number.isInteger(bits) && bits >= 1 && bits <= 8))
        throw new UserError(`${layerOf(p)}: ${what} must be 1..8, got ${bits}`);
    }
    const q = setting(o.pruneQuality, p, 'prune quality');
    if (!(q >= 0)) throw new UserError(`${layerOf(p)}: prune quality must be >= 0, got ${q}`);
  }
  const seconds: Record<string, number> = {};
  const timed = <T>(stage: string, fn: () => T): T => {
    const t0 = performance.now();
    const r = fn();
    seconds[stage] = (performance.now() - t0) / 1000;
    return r;
  };
  const train = (
    stage: string,
    epochs: number,
    lr: number,
    optimizer: Optimizer = new Adam(net.params(), { weightDecay: o.weightDecay }),
    seed = o.seed,
  ) =>
    fit(net, o.train, {
      epochs,
      batchSize: o.batchSize,
      lr,
      optimizer,
      seed,
      onStep: (done, total) => o.onProgress?.(stage, done, total),
    });

  // 1. dense baseline
  timed('train', () => train('train', o.epochs, o.lr));
  const baseline = accuracy(net, o.test);
  const dense = weights.map((p) => Float32Array.from(p.data));

  const sensitivity = timed('sensitivity', () => sweepSensitivity(net, weights, o));

  // 2. iterative pruning: thresholds rise to quality × std in pruneIterations rounds, each retrained
  const std = weights.map(weightStd);
  timed('prune', () => {
    for (let round = 1; round <= o.pruneIterations; round++) {
      weights.forEach((p, k) =>
        pruneBelow(p, ((setting(o.pruneQuality, p, 'prune quality') * round) / o.pruneIterations) * std[k]),
      );
      train(`prune ${round}/${o.pruneIterations}`, o.retrainEpochs, o.retrainLr, undefined, o.seed + round);
    }
  });
  const pruned = accuracy(net, o.test);
  const prunedWeights = weights.map((p) => p.data.filter((_, i) => p.mask![i]));

  // 3. trained quantization: k-means weight sharing, then centroid fine-tuning
  const shared = new Map<Param, SharedWeights>();
  for (const p of weights) shared.set(p, shareWeights(p, setting(o.weightBits, p, 'weight bits')));
  const quantized = accuracy(net, o.test);
  timed('finetune', () =>
    train('finetune', o.finetuneEpochs, o.finetuneLr, new CentroidSGD(net.params(), shared), o.seed + 1000),
  );
  const finetuned = accuracy(net, o.test);

  // 4. sparse storage with relative indices, Huffman coded
  const tensors = net.params().map((p) => {
    const s = shared.get(p);
    return s
      ? encodeShared(p.name, [...p.shape], s, setting(o.indexBits, p, 'index bits'))
      : encodeDense(p.name, [...p.shape], p.data);
  });
  const layers: LayerReport[] = weights.map((p) => {
    const t = tensors.find((x) => x.name === p.name)!;
    const bias = tensors.find((x) => x.name === `${layerOf(p)}.bias`);
    if (t.encoding !== 'sparse-shared') throw new Error('unreachable');
    const kept = shared.get(p)!.codes.reduce((a, c) => a + (c ? 1 : 0), 0);
    return {
      name: layerOf(p),
      weights: p.size,
      kept: kept / p.size,
      weightBits: t.weightBits,
      indexBits: t.indexBits,
      entries: t.entries,
      fillers: t.entries - kept,
      huffmanWeightBits: t.codes.bits / Math.max(1, t.entries),
      huffmanIndexBits: t.gaps.bits / Math.max(1, t.entries),
      bytes: payloadBytes(t) + (bias ? payloadBytes(bias) : 0),
    };
  });
  const report: DeepCompressionReport = {
    network: o.network.name,
    accuracy: { baseline, pruned, quantized, finetuned },
    layers,
    originalBytes: net.params().reduce((a, p) => a + 4 * p.size, 0),
    payloadBytes: tensors.reduce((a, t) => a + payloadBytes(t), 0),
    seconds,
    sensitivity,
    distributions: weights.map((p, k) => ({
      layer: layerOf(p),
      dense: dense[k],
      pruned: prunedWeights[k],
      codebook: shared.get(p)!.codebook.subarray(1),
    })),
  };
  const meta = { network: o.network, accuracy: finetuned, testExamples: o.test.count };
  return { report, file: { meta, tensors }, net };
}

/** Prunes one layer at a time to each kept fraction and measures test accuracy, restoring it after. */
function sweepSensitivity(
  net: Sequential,
  weights: Param[],
  o: DeepCompressionOptions,
): DeepCompressionReport['sensitivity'] {
  const total = weights.length * o.sensitivity.length;
  let done = 0;
  return weights.map((p) => {
    const saved = Float32Array.from(p.data);
    const points = o.sensitivity.map((keep): [number, number] => {
      pruneBelow(p, thresholdForFraction(p.data, keep));
      const acc = accuracy(net, o.test);
      p.data.set(saved);
      p.mask = null;
      o.onProgress?.('sensitivity', ++done, total);
      return [keep, acc];
    });
    return { layer: p.name.slice(0, p.name.lastIndexOf('.')), points };
  });
}
