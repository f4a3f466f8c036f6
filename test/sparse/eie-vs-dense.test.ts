import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { compressToFolder } from '../../src/compress/to-folder.js';
import { readEffml } from '../../src/formats/effml.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { loadIdxDataset, takeFirst } from '../../src/nn/dataset.js';
import { convertToEie } from '../../src/sparse/convert.js';
import { eieVsDense } from '../../src/sparse/eie-vs-dense.js';
import { sharedMatrixOfFile } from '../../src/sparse/shared-matrix.js';
import { quickLenetCompression } from '../compress/quick-options.js';
import { REPO, tempDir } from '../helpers.js';

test('a compressed file runs through EIE beside its dense network, converted or not', async () => {
  const backend = await WasmBackend.create({ threads: 1 });
  const data = join(REPO, 'data/fashion-mnist-sample');
  const test_ = takeFirst(loadIdxDataset(data, 'test'), 100);
  const dir = tempDir();
  compressToFolder(
    dir,
    quickLenetCompression(backend, takeFirst(loadIdxDataset(data, 'train'), 300), test_, []),
  );
  const model = join(dir, 'model.effml');
  const r = eieVsDense(model, test_, 2, backend);
  assert.equal(r.network, 'lenet-300-100');
  assert.equal(r.agreeWithDense, 100);
  assert.deepEqual(
    r.layers.map((l) => [l.rows, l.cols, l.pes]),
    [
      [300, 784, 2],
      [100, 300, 2],
      [10, 100, 2],
    ],
  );

  const converted = join(dir, 'eie.effml');
  const { layers, bytes } = convertToEie(model, converted, 16);
  assert.equal(layers, 3);
  assert.ok(readEffml(converted).tensors.some((t) => t.encoding === 'eie') && bytes > 0);
  const again = eieVsDense(converted, test_, 2, backend);
  assert.equal(again.accuracy, r.accuracy);
  assert.ok(
    again.layers.every((l) => l.pes === 16),
    'stored EIE layers keep their PEs',
  );
  assert.deepEqual(sharedMatrixOfFile(converted, 'fc3').codes, sharedMatrixOfFile(model, 'fc3').codes);
  assert.throws(() => sharedMatrixOfFile(model, 'fc9'), { message: /has no linear layer fc9/ });
  backend.dispose();
});
