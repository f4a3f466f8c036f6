import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { softmaxCrossEntropy } from '../../src/nn/loss.js';
import { type NetworkSpec, Sequential } from '../../src/nn/sequential.js';
import { randomF32, rng } from '../helpers.js';

/** A small network touching every layer type (dropout off: finite differences need a fixed function). */
const SPEC: NetworkSpec = {
  name: 'grad-check',
  input: [7, 6, 2],
  layers: [
    { type: 'conv2d', name: 'conv1', out: 3, kernel: 3, stride: 1, pad: 1 },
    { type: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'conv2d', name: 'conv2', out: 4, kernel: 2, stride: 1 },
    { type: 'flatten' },
    { type: 'linear', name: 'fc1', out: 5 },
    { type: 'relu' },
    { type: 'dropout', p: 0 },
    { type: 'linear', name: 'fc2', out: 3 },
  ],
};

function lossOf(net: Sequential, x: Float32Array, labels: Uint8Array, batch: number, grad: boolean): number {
  const logits = net.forward(x, batch, true);
  const d = new Float32Array(batch * 3);
  const { loss } = softmaxCrossEntropy(logits, labels, batch, 3, d);
  if (grad) net.backward(d, batch);
  return loss;
}

for (const [name, make] of [
  ['reference', async () => new ReferenceBackend()],
  ['wasm', async () => WasmBackend.create({ threads: 2 })],
] as [string, () => Promise<Backend>][]) {
  describe(`nn gradients (${name} backend)`, () => {
    test('every parameter gradient equals central finite differences', async () => {
      const backend = await make();
      const random = rng(5);
      const net = new Sequential(SPEC, backend, 3);
      const batch = 3;
      const x = randomF32(batch * 7 * 6 * 2, random);
      const labels = Uint8Array.from([0, 2, 1]);
      lossOf(net, x, labels, batch, true);
      for (const p of net.params()) {
        const analytic = Float32Array.from(p.grad);
        for (let i = 0; i < p.size; i += Math.max(1, Math.floor(p.size / 7))) {
          const h = 1e-3;
          const w = p.data[i];
          p.data[i] = w + h;
          const up = lossOf(net, x, labels, batch, false);
          p.data[i] = w - h;
          const down = lossOf(net, x, labels, batch, false);
          p.data[i] = w;
          const numeric = (up - down) / (2 * h);
          assert.ok(
            Math.abs(numeric - analytic[i]) < 5e-4 + 2e-2 * Math.abs(numeric),
            `${p.name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`,
          );
        }
      }
      backend.dispose();
    });
  });
}
