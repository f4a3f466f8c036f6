/** Memory ownership in the training engine: fit and predict give back their buffers; a network frees its layers on dispose(). */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { SGD } from '../../src/nn/optim.js';
import { type NetworkSpec, Sequential } from '../../src/nn/sequential.js';
import { fit, predict } from '../../src/nn/train.js';
import { rng } from '../helpers.js';

const SPEC: NetworkSpec = {
  name: 'every-layer',
  input: [8, 8, 1],
  layers: [
    { type: 'conv2d', name: 'conv', out: 4, kernel: 3, pad: 1 },
    { type: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'flatten' },
    { type: 'dropout', p: 0.25 },
    { type: 'linear', name: 'fc', out: 3 },
  ],
};

test('fit and predict keep only the layers’ buffers; dispose() frees the network', async () => {
  const backend = await WasmBackend.create({ threads: 2 });
  after(() => backend.dispose());
  const random = rng(5);
  const data = {
    images: Float32Array.from({ length: 40 * 64 }, random),
    labels: Uint8Array.from({ length: 40 }, () => Math.floor(random() * 3)),
    count: 40,
    shape: [8, 8, 1] as [number, number, number],
  };
  const empty = backend.bytesInUse();
  const net = new Sequential(SPEC, backend, 1);
  const train = () =>
    fit(net, data, { epochs: 1, batchSize: 16, lr: 0.01, optimizer: new SGD(net.params()), seed: 2 });
  // the first calls grow the layers' buffers to their batch; the same calls again allocate nothing
  train();
  predict(net, data, 16);
  const held = backend.bytesInUse();
  train();
  assert.equal(backend.bytesInUse(), held, 'fit frees its batch buffers');
  predict(net, data, 16);
  assert.equal(backend.bytesInUse(), held, 'predict frees its batch buffer');
  predict(net, data, 40);
  assert.ok(backend.bytesInUse() > held, 'a larger batch grows the layers’ buffers');
  net.dispose();
  assert.equal(backend.bytesInUse(), empty, 'parameters, gradients and buffers');
});
