import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pruneBelow, thresholdForFraction } from '../../src/compress/prune.js';
import { CentroidSGD, shareWeights } from '../../src/compress/weight-sharing.js';
import { FormatError } from '../../src/formats/errors.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { loadIdxDataset, takeFirst } from '../../src/nn/dataset.js';
import { LENET_300_100 } from '../../src/nn/lenet.js';
import { Adam, SGD } from '../../src/nn/optim.js';
import { Sequential } from '../../src/nn/sequential.js';
import { accuracy, fit } from '../../src/nn/train.js';
import { REPO, SHARED } from '../helpers.js';

const FASHION = join(SHARED, 'datasets/fashion-mnist');

test('LeNet-300-100 learns Fashion-MNIST, reproducibly; masks keep pruned weights at zero', async () => {
  const backend = await WasmBackend.create({ threads: 2 });
  const train = takeFirst(loadIdxDataset(FASHION, 'train'), 3000);
  const test_ = takeFirst(loadIdxDataset(FASHION, 'test'), 1000);
  const run = () => {
    const net = new Sequential(LENET_300_100, backend, 7);
    const stats = fit(net, train, {
      epochs: 2,
      batchSize: 32,
      lr: 1e-3,
      optimizer: new Adam(net.params()),
      seed: 3,
    });
    return { net, stats };
  };
  const a = run();
  const b = run();
  assert.deepEqual(a.stats, b.stats, 'same seed, same run');
  assert.ok(a.stats[1].loss < a.stats[0].loss);
  const acc = accuracy(a.net, test_);
  assert.ok(acc > 0.72, `test accuracy ${acc} after 2 epochs on 3000 images`);

  // prune fc1 to 10%, retrain with SGD then Adam: the pruned weights stay exactly zero
  const fc1 = a.net.param('fc1.weight');
  pruneBelow(fc1, thresholdForFraction(fc1.data, 0.1));
  const kept = fc1.mask!.reduce((s, m) => s + m, 0);
  assert.ok(Math.abs(kept / fc1.size - 0.1) < 0.001, `kept ${kept}`);
  for (const optimizer of [new SGD(a.net.params(), { weightDecay: 5e-4 }), new Adam(a.net.params())])
    fit(a.net, takeFirst(train, 500), { epochs: 1, batchSize: 50, lr: 1e-3, optimizer, seed: 1 });
  for (let i = 0; i < fc1.size; i++) if (!fc1.mask![i]) assert.equal(fc1.data[i], 0);
  assert.ok(accuracy(a.net, test_) > 0.6);

  // weight sharing: 3 bits = 7 centroids and zero; a centroid moves by the sum of its members' gradients
  const fc2 = a.net.param('fc2.weight');
  const shared = shareWeights(fc2, 3);
  assert.equal(new Set(fc2.data).size, 8 - (fc2.mask ? 0 : 1));
  const before = Float32Array.from(shared.codebook);
  fc2.grad.forEach((_, i) => (fc2.grad[i] = (i % 7) * 1e-3));
  const expected = new Float64Array(8);
  for (let i = 0; i < fc2.size; i++) expected[shared.codes[i]] += fc2.grad[i];
  new CentroidSGD([fc2], new Map([[fc2, shared]]), 0).step(0.5);
  for (let c = 1; c < 8; c++) assert.ok(Math.abs(before[c] - 0.5 * expected[c] - shared.codebook[c]) < 1e-5);
  assert.equal(shared.codebook[0], 0);
  for (let i = 0; i < fc2.size; i++) assert.equal(fc2.data[i], shared.codebook[shared.codes[i]]);
  backend.dispose();
});

test('datasets: the bundled sample loads; a folder without IDX files is a clear error', () => {
  const sample = loadIdxDataset(join(REPO, 'data/fashion-mnist-sample'), 'test');
  assert.equal(sample.count, 500);
  assert.deepEqual(sample.shape, [28, 28, 1]);
  assert.ok(sample.images.every((v) => v >= 0 && v <= 1));
  assert.throws(
    () => loadIdxDataset(REPO, 'train'),
    (e: Error) => e instanceof FormatError && /train-images-idx3-ubyte/.test(e.message),
  );
});
