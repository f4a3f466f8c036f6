import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluateCompressed } from '../../src/compress/evaluate.js';
import { COMPRESSION_RECIPES } from '../../src/compress/recipes.js';
import { compressToFolder } from '../../src/compress/to-folder.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { loadIdxDataset, takeFirst } from '../../src/nn/dataset.js';
import { NETWORKS } from '../../src/nn/lenet.js';
import { REPO, tempDir } from '../helpers.js';
import { quickLenetCompression } from './quick-options.js';

test('every network has a recipe that sets each of its weight layers', () => {
  assert.deepEqual(Object.keys(COMPRESSION_RECIPES).sort(), Object.keys(NETWORKS).sort());
  for (const [name, network] of Object.entries(NETWORKS)) {
    const layers = network.layers.flatMap((l) => ('name' in l ? [l.name] : [])).sort();
    const r = COMPRESSION_RECIPES[name];
    for (const perLayer of [r.pruneQuality, r.weightBits, r.indexBits])
      assert.deepEqual(Object.keys(perLayer).sort(), layers, name);
  }
});

test('compressToFolder writes a file that decodes to the accuracy it reports, and the report files', async () => {
  const backend = await WasmBackend.create({ threads: 1 });
  const data = join(REPO, 'data/fashion-mnist-sample');
  const train = takeFirst(loadIdxDataset(data, 'train'), 300);
  const test_ = takeFirst(loadIdxDataset(data, 'test'), 200);
  const dir = join(tempDir(), 'out');
  const summary = compressToFolder(dir, quickLenetCompression(backend, train, test_, [1, 0.5]));
  assert.equal(summary.decodedAccuracy, summary.accuracy.finetuned);
  assert.equal(readFileSync(join(dir, 'model.effml')).byteLength, summary.fileBytes);
  assert.equal(summary.ratio, summary.originalBytes / summary.fileBytes);
  assert.deepEqual(readdirSync(dir).sort(), [
    'model.effml',
    'report.json',
    'report.md',
    'sensitivity.svg',
    'weights-fc1.svg',
    'weights-fc2.svg',
    'weights-fc3.svg',
  ]);
  const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(json.distributions, undefined);
  assert.equal(json.fileBytes, summary.fileBytes);
  assert.match(
    readFileSync(join(dir, 'report.md'), 'utf8'),
    /^# Deep Compression of lenet-300-100 \(300 training \/ 200 test images\)/,
  );

  const evaluated = evaluateCompressed(join(dir, 'model.effml'), test_, backend);
  assert.deepEqual(evaluated, {
    network: 'lenet-300-100',
    examples: 200,
    accuracy: summary.decodedAccuracy,
    savedAccuracy: summary.accuracy.finetuned,
    savedExamples: 200,
  });
  backend.dispose();
});
