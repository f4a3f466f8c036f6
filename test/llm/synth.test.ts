import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGGUF } from '../../src/formats/gguf.js';
import { readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { WasmBackend } from '../../src/kernels/index.js';
import { loadModel } from '../../src/llm/load.js';
import { synthesize } from '../../src/llm/synth.js';
import { tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import { SHARED, tempDir } from '../helpers.js';

const vocab = tokenizerFromLlama2c(
  readLlama2cTokenizer(join(SHARED, 'models/llama2-tokenizer/tokenizer.bin')),
).vocab;
const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());

test('synthetic GGUF and HF models have the real shapes, a real padded vocabulary, and say they are random', async () => {
  const dir = tempDir();
  const gguf = join(dir, 'qwen.gguf');
  const r = synthesize(gguf, {
    like: 'qwen2.5-0.5b',
    format: 'gguf',
    dtype: 'q8_0',
    vocab,
    layers: 1,
    contextLength: 256,
  });
  assert.equal(r.paddedTokens, 151936 - 32000);
  const file = readGGUF(gguf);
  assert.match(String(file.get('general.description')), /RANDOM weights/);
  assert.deepEqual(file.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.shape, [896, 896]);
  assert.equal(file.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.type, 'Q8_0');
  assert.equal(file.tensors.find((t) => t.name === 'blk.0.attn_q.bias')?.type, 'F32');
  file.close();
  const q = await loadModel(gguf, { backend });
  assert.equal(q.config.architecture, 'qwen2');
  assert.equal(q.config.ropeStyle, 'halves');
  assert.equal(q.model.weights.layers[0].w2.dtype, 'q8_0');
  assert.deepEqual(q.tokenizer.encode('Hello world'), [1, 15043, 3186]);
  const logits = q.model.forward(q.tokenizer.encode('Hello world'), q.model.newCache());
  assert.ok(logits.every(Number.isFinite));

  const hf = join(dir, 'smollm2');
  synthesize(hf, {
    like: 'smollm2-135m',
    format: 'hf',
    dtype: 'f16',
    vocab,
    layers: 2,
    seed: 9,
    contextLength: 256,
  });
  const h = await loadModel(hf, { backend });
  assert.equal(h.config.nLayers, 2);
  assert.equal(h.config.vocabSize, 49152);
  assert.deepEqual(h.tokenizer.encode('Hello world'), [1, 15043, 3186]);
  assert.ok(h.model.forward([1, 2, 3], h.model.newCache()).every(Number.isFinite));
  assert.throws(
    () => synthesize(join(dir, 'x'), { like: 'smollm2-135m', format: 'hf', dtype: 'q8_0', vocab }),
    { name: 'UserError', message: /cannot hold q8_0/ },
  );
  assert.throws(() => synthesize(join(dir, 'x'), { like: 'gpt-5', format: 'gguf', dtype: 'f32', vocab }), {
    name: 'UserError',
    message: /unknown model shape/,
  });
});
