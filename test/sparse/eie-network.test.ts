import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepCompression } from '../../src/compress/deep-compression.js';
import { loadCompressed } from '../../src/compress/load.js';
import { readEffml, writeEffml } from '../../src/formats/effml.js';
import { FormatError } from '../../src/formats/errors.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { loadIdxDataset } from '../../src/nn/dataset.js';
import { LENET_300_100 } from '../../src/nn/lenet.js';
import { predict } from '../../src/nn/train.js';
import { eieFromTensor } from '../../src/sparse/eie-codec.js';
import { loadEieNetwork, predictEie, toEieFile } from '../../src/sparse/eie-network.js';
import { REPO, tempDir } from '../helpers.js';

test('a Deep-Compressed LeNet-300-100 runs entirely through EIE with the dense network’s predictions', async () => {
  const backend = await WasmBackend.create({ threads: 2 });
  const data = join(REPO, 'data/fashion-mnist-sample');
  const [train, test_] = [loadIdxDataset(data, 'train'), loadIdxDataset(data, 'test')];
  const all = (v: number) => ({ fc1: v, fc2: v, fc3: v });
  const { file } = deepCompression({
    network: LENET_300_100,
    train,
    test: test_,
    backend,
    seed: 1,
    batchSize: 50,
    epochs: 2,
    lr: 1e-3,
    weightDecay: 0,
    pruneQuality: all(1.5),
    pruneIterations: 1,
    retrainEpochs: 1,
    retrainLr: 5e-4,
    weightBits: all(4),
    indexBits: all(5),
    finetuneEpochs: 1,
    finetuneLr: 1e-4,
    sensitivity: [],
  });
  const dir = tempDir();
  const path = join(dir, 'lenet.effml');
  writeEffml(path, file);
  const dense = predict(loadCompressed(path, backend).net, test_, 1);
  for (const pes of [1, 2, 64]) {
    const eie = loadEieNetwork(path, pes);
    assert.deepEqual(predictEie(eie, test_, backend), dense, `${pes} PEs`);
  }
  // stored in EIE's form, the network decodes to the same weights and the same predictions
  const eie = loadEieNetwork(path, 64); // more PEs than fc3's 10 rows
  const eiePath = join(dir, 'lenet-eie.effml');
  writeEffml(eiePath, toEieFile(readEffml(path), eie));
  assert.deepEqual(predict(loadCompressed(eiePath, backend).net, test_, 1), dense);
  assert.deepEqual(predictEie(loadEieNetwork(eiePath, 1), test_, backend), dense);

  // corrupt EIE tensors are FormatErrors, not writes outside the output
  const t = readEffml(eiePath).tensors.find((x) => x.encoding === 'eie')!;
  if (t.encoding !== 'eie') throw new Error('unreachable');
  const corrupt = (edit: (b: Uint8Array) => void, field: 'entries' | 'pointers') => {
    const copy = { ...t, [field]: t[field].slice() };
    edit(copy[field]);
    assert.throws(() => eieFromTensor(copy, 'x.effml'), FormatError);
  };
  corrupt((b) => b.fill(0xff), 'entries');
  corrupt((b) => new DataView(b.buffer).setUint32(8, 1e6, true), 'pointers');
  backend.dispose();
});
