import { Random } from '../tensor/random.js';
import type { ImageDataset } from './dataset.js';
import { softmaxCrossEntropy } from './loss.js';
import type { Optimizer } from './optim.js';
import type { Sequential } from './sequential.js';
import { Workspace } from './workspace.js';
import { UserError } from '../errors.js';

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** peak learning rate, annealed to 0 over the run on a cosine */
  lr: number;
  optimizer: Optimizer;
  /** shuffling order */
  seed: number;
  /** called after every step with steps done and total */
  onStep?: (done: number, total: number) => void;
  /** called after each optimizer step (weight sharing re-applies its centroids here) */
  afterStep?: () => void;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  trainAccuracy: number;
}

/** Mini-batch training with a reshuffle per epoch; returns the mean loss and accuracy of each epoch. */
export function fit(net: Sequential, data: ImageDataset, o: FitOptions): EpochStats[] {
  checkData(net, data);
  const size = net.inputSize;
  const classes = net.outputSize;
  const ws = new Workspace(net.backend);
  const random = new Random(o.seed);
  const order = Uint32Array.from({ length: data.count }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(data.count / o.batchSize);
  const total = o.epochs * stepsPerEpoch;
  const stats: EpochStats[] = [];
  let step = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      random.shuffle(order);
      let loss = 0;
      let correct = 0;
      for (let start = 0; start < data.count; start += o.batchSize) {
        const batch = Math.min(o.batchSize, data.count - start);
        const x = ws.f32('x', batch * size);
        const labels = new Uint8Array(batch);
        for (let b = 0; b < batch; b++) {
          const i = order[start + b];
          x.set(data.images.subarray(i * size, (i + 1) * size), b * size);
          labels[b] = data.labels[i];
        }
        const logits = net.forward(x, batch, true);
        const dLogits = ws.f32('dLogits', batch * classes);
        const r = softmaxCrossEntropy(logits, labels, batch, classes, dLogits);
        net.backward(dLogits, batch);
        o.optimizer.step(o.lr * 0.5 * (1 + Math.cos((Math.PI * step) / total)));
        o.afterStep?.();
        loss += r.loss * batch;
        correct += r.correct;
        o.onStep?.(++step, total);
      }
      stats.push({ epoch: epoch + 1, loss: loss / data.count, trainAccuracy: correct / data.count });
    }
  } finally {
    ws.dispose();
  }
  return stats;
}

/** The predicted class of every example. */
export function predict(net: Sequential, data: ImageDataset, batchSize = 500): Uint8Array {
  checkData(net, data);
  const size = net.inputSize;
  const classes = net.outputSize;
  const ws = new Workspace(net.backend);
  const out = new Uint8Array(data.count);
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      const batch = Math.min(batchSize, data.count - start);
      const x = ws.f32('x', batch * size);
      x.set(data.images.subarray(start * size, (start + batch) * size));
      const logits = net.forward(x, batch, false);
      for (let b = 0; b < batch; b++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
        out[start + b] = best;
      }
    }
  } finally {
    ws.dispose();
  }
  return out;
}

/** Fraction of examples whose prediction equals the label. */
export function accuracy(net: Sequential, data: ImageDataset): number {
  const predictions = predict(net, data);
  let correct = 0;
  for (let i = 0; i < data.count; i++) if (predictions[i] === data.labels[i]) correct++;
  return correct / data.count;
}

function checkData(net: Sequential, data: ImageDataset): void {
  const size = data.shape[0] * data.shape[1] * data.shape[2];
  if (size !== net.inputSize)
    throw new UserError(`${net.spec.name} takes ${net.inputSize} inputs, the images have ${size} pixels`);
  for (let i = 0; i < data.count; i++)
    if (data.labels[i] >= net.outputSize)
      throw new UserError(`label ${data.labels[i]} at example ${i} is not one of ${net.outputSize} classes`);
}
