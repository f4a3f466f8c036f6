/** AWQ and RTN on stories260K: scaling keeps the fp model, quantization round-trips through the saved folder, AWQ beats RTN. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { WasmBackend } from '../../src/kernels/index.js';
import { loadModel } from '../../src/llm/load.js';
import { runAwq } from '../../src/quant/awq.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { quantizeLlama, saveQuantized } from '../../src/quant/quantize.js';
import { SHARED, STORIES, maxAbsDiff, tempDir } from '../helpers.js';

const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());
const text = readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8');
const lines = text.split('\n').filter((l) => l !== '');
// calibrate on the last lines, evaluate on the first ones
const calibText = lines.slice(3000).join('\n');
const evalText = lines.slice(0, 400).join('\n');
const model = () =>
  loadModel(join(STORIES, 'stories260K.bin'), { backend, tokenizer: join(STORIES, 'tok512.bin') });
const calibration = { samples: 32, seqLen: 256 };

test('AWQ scaling is folded into norms and linears without changing the fp model', async () => {
  const { model: m, tokenizer } = await model();
  const ids = tokenizer.encode('Tom and Lily went to the park.');
  const before = Float32Array.from(m.forward(ids, m.newCache(), true));
  const stats = calibrate(m, tokenizer, calibText, calibration);
  assert.equal(stats.length, 5);
  assert.equal(stats[0].attn_in.seen, 32 * 256);
  const r = runAwq(m, stats, { bits: 4, groupSize: 64 });
  assert.equal(r.ratios.length, 5);
  assert.ok(
    r.ratios.some((x) => x.qkv > 0 || x.gateUp > 0 || x.down > 0),
    'some α > 0 was chosen',
  );
  const after = m.forward(ids, m.newCache(), true);
  // the clips are not applied yet: only the scaling happened, which must preserve the function
  const scale = Math.max(...before.map(Math.abs));
  assert.ok(
    maxAbsDiff(before, after) / scale < 1e-5,
    `fp output moved by ${maxAbsDiff(before, after)} (max |logit| ${scale})`,
  );
});

test('int4 RTN and AWQ: saved, loaded back identically, AWQ closer to fp than RTN', async () => {
  const fp = await model();
  const fpPpl = perplexity(fp.model, fp.tokenizer, evalText, { perLine: true }).perplexity;
  const results: Record<string, number> = {};
  for (const method of ['rtn', 'awq'] as const) {
    const { model: m, tokenizer } = await model();
    const report = quantizeLlama(m, tokenizer, { method, bits: 3, groupSize: 64, calibText, calibration });
    assert.equal(m.weights.layers[0].w2.dtype, 'int4');
    results[method] = perplexity(m, tokenizer, evalText, { perLine: true }).perplexity;
    const dir = tempDir();
    saveQuantized(dir, m, tokenizer, report);
    const back = await loadModel(dir, { backend });
    assert.equal(back.config.ropeStyle, 'halves');
    assert.equal(back.model.weights.layers[0].wq.dtype, 'int4');
    const ids = tokenizer.encode('Once upon a time');
    const a = m.forward(ids, m.newCache());
    const b = back.model.forward(ids, back.model.newCache());
    assert.ok(maxAbsDiff(a, b) < 1e-4, `${method}: reloaded logits differ by ${maxAbsDiff(a, b)}`);
  }
  assert.ok(results.rtn > fpPpl && results.awq > fpPpl, JSON.stringify({ fpPpl, ...results }));
  assert.ok(results.awq < results.rtn, `AWQ ${results.awq} should beat RTN ${results.rtn} (fp ${fpPpl})`);
});
