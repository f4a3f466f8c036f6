import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { WasmBackend } from '../../src/kernels/index.js';
import { loadModel } from '../../src/llm/load.js';
import { synthesize } from '../../src/llm/synth.js';
import { AWQ_ORDER, fromAutoAwq, toAutoAwq } from '../../src/quant/autoawq.js';
import { packInt4 } from '../../src/quant/pack-int4.js';
import { quantizeLlama, saveQuantized } from '../../src/quant/quantize.js';
import { quantizeRTN } from '../../src/quant/rtn.js';
import { tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import { SHARED, STORIES, maxAbsDiff, randomF32, rng, tempDir } from '../helpers.js';

test('AutoAWQ GEMM packing: interleaved order, round trip to the same int4 tensors', () => {
  const [rows, cols, g] = [16, 64, 32];
  const m = quantizeRTN(randomF32(rows * cols, rng(2)), rows, cols, { bits: 4, groupSize: g });
  const w = { packed: packInt4(m.q, rows, cols), scales: m.scales, zeros: m.zeros, groupSize: g };
  const t = toAutoAwq(w, rows, cols);
  assert.equal(t.qweight.length, (cols * rows) / 8);
  // word 0 holds column 0 of rows 0..7, nibble i from row AWQ_ORDER[i]
  for (let i = 0; i < 8; i++) assert.equal((t.qweight[0] >>> (4 * i)) & 15, m.q[AWQ_ORDER[i] * cols]);
  assert.equal(t.scales[1], m.scales[1 * 2]); // scales are [groups, rows]
  const back = fromAutoAwq(t, rows, cols, g);
  assert.deepEqual(back.packed, w.packed);
  assert.deepEqual(back.scales, w.scales);
  assert.deepEqual(back.zeros, w.zeros);
});

const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());

test('export -> import through an AutoAWQ folder gives identical tensors and logits', async () => {
  const dir = tempDir();
  const vocab = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin'))).vocab;
  synthesize(join(dir, 'fp'), {
    like: 'smollm2-135m',
    format: 'hf',
    dtype: 'f32',
    vocab,
    layers: 1,
    contextLength: 128,
  });
  const m = await loadModel(join(dir, 'fp'), { backend });
  const report = quantizeLlama(m.model, m.tokenizer, { method: 'rtn', bits: 4, groupSize: 64 });
  saveQuantized(join(dir, 'awq'), m.model, m.tokenizer, report, 'autoawq');
  const back = await loadModel(join(dir, 'awq'), { backend });
  for (const key of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const) {
    const [a, b] = [m.model.weights.layers[0][key], back.model.weights.layers[0][key]];
    assert.ok(a.dtype === 'int4' && b.dtype === 'int4');
    assert.deepEqual(b.data.packed, a.data.packed, key);
    assert.deepEqual(b.data.scales, a.data.scales, key);
    assert.deepEqual(b.data.zeros, a.data.zeros, key);
  }
  const ids = [1, 5, 9, 300];
  assert.ok(
    maxAbsDiff(m.model.forward(ids, m.model.newCache()), back.model.forward(ids, back.model.newCache())) <
      1e-5,
  );
  // stories260K's FFN is 172 wide: neither a multiple of 8 rows nor of 64-column groups, as AutoAWQ needs
  const s = await loadModel(join(SHARED, 'models/stories260K/stories260K.v3.derived.gguf'), { backend });
  const r = quantizeLlama(s.model, s.tokenizer, { method: 'rtn', bits: 4, groupSize: 64 });
  assert.throws(() => saveQuantized(join(dir, 'bad'), s.model, s.tokenizer, r, 'autoawq'), {
    name: 'RangeError',
    message: /AutoAWQ needs .* multiple of/,
  });
});
