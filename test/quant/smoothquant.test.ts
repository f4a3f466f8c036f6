/** SmoothQuant on stories260K and its outlier-injected twin: equivalence of the fp transforms, W8A8 quality, saved folders. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { WasmBackend } from '../../src/kernels/index.js';
import { DEFAULT_MODEL, loadModel } from '../../src/llm/load.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { injectOutliers } from '../../src/quant/outliers.js';
import { quantizeLlama, saveQuantized } from '../../src/quant/quantize.js';
import { saveQuantizedModel } from '../../src/quant/save.js';
import { quantizeInt8, smoothModel, smoothingScales } from '../../src/quant/smoothquant.js';
import { SHARED, maxAbsDiff, tempDir } from '../helpers.js';

const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());
const lines = readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const calibText = lines.slice(3000).join('\n');
const evalText = lines.slice(0, 300).join('\n');
const calibration = { samples: 16, seqLen: 256 };
const model = () => loadModel(DEFAULT_MODEL, { backend });

test('smoothing scales follow the formula; int8 weights round per channel', () => {
  const s = smoothingScales([4, 0.01, 9], [Float32Array.from([1, 2, 3, 0.5, -4, 1])], 0.5);
  assert.ok(Math.abs(s[0] - Math.sqrt(4) / Math.sqrt(1)) < 1e-6);
  assert.ok(Math.abs(s[1] - Math.sqrt(0.01) / Math.sqrt(4)) < 1e-6);
  assert.ok(Math.abs(s[2] - Math.sqrt(9) / Math.sqrt(3)) < 1e-6);
  const { q, scales } = quantizeInt8(Float32Array.from([1.27, -0.5, 0, 0.01, 0.021, -0.04]), 2, 3, 'channel');
  assert.deepEqual([...q], [127, -50, 0, 32, 67, -127]);
  assert.ok(Math.abs(scales[0] - 0.01) < 1e-9 && Math.abs(scales[1] - 0.04 / 127) < 1e-9);
  assert.deepEqual([...quantizeInt8(Float32Array.from([1.27, 0.01]), 2, 1, 'tensor').q], [127, 1]);
});

test('outlier injection is exact and smoothing keeps the fp model (logits to 1e-5)', async () => {
  const { model: m, tokenizer } = await model();
  const ids = tokenizer.encode('Tom and Lily went to the park.');
  const before = Float32Array.from(m.forward(ids, m.newCache(), true));
  const picked = injectOutliers(m, { channels: 3, factor: 64 });
  assert.equal(picked.length, 5);
  assert.deepEqual(Float32Array.from(m.forward(ids, m.newCache(), true)), before, 'bit for bit');
  assert.throws(() => injectOutliers(m, { factor: 50 }), { name: 'UserError', message: /power of two/ });
  const stats = calibrate(m, tokenizer, calibText, calibration);
  // the injected channels are the outliers the calibration sees
  const maxAbs = Float64Array.from(stats[0].attn_in.maxAbs);
  const others = [...maxAbs].filter((_, c) => !picked[0].includes(c));
  assert.ok(Math.min(...picked[0].map((c) => maxAbs[c])) > 4 * Math.max(...others));
  smoothModel(m, stats, 0.5);
  const smoothed = m.forward(ids, m.newCache(), true);
  const scale = Math.max(...before.map(Math.abs));
  assert.ok(maxAbsDiff(smoothed, before) / scale < 1e-5, `moved by ${maxAbsDiff(smoothed, before)}`);
  assert.ok(
    Math.max(...stats[0].attn_in.maxAbs) < Math.max(...maxAbs) / 4,
    'outliers migrated into the weights',
  );
});

test('W8A8: naive int8 breaks on outliers, SmoothQuant recovers; saved folders load back identically', async () => {
  const ppl = async (transform: (m: Awaited<ReturnType<typeof model>>) => void) => {
    const loaded = await model();
    transform(loaded);
    return {
      ppl: perplexity(loaded.model, loaded.tokenizer, evalText, { perLine: true }).perplexity,
      loaded,
    };
  };
  const fp = (await ppl(() => {})).ppl;
  const twin = (m: Awaited<ReturnType<typeof model>>) => injectOutliers(m.model);
  const quant =
    (method: 'w8a8' | 'smoothquant', act: 'token' | 'static' = 'token') =>
    (m: Awaited<ReturnType<typeof model>>) =>
      quantizeLlama(m.model, m.tokenizer, { method, bits: 8, groupSize: 0, act, calibText, calibration });
  const naiveTwin = (await ppl((m) => (twin(m), quant('w8a8')(m)))).ppl;
  const sq = await ppl((m) => (twin(m), quant('smoothquant')(m)));
  assert.ok(naiveTwin > fp * 1.1, `naive W8A8 on the twin: ${naiveTwin} vs fp ${fp}`);
  assert.ok(sq.ppl < fp * 1.01, `SmoothQuant on the twin: ${sq.ppl} vs fp ${fp}`);
  assert.equal(sq.loaded.model.weights.layers[0].wq.dtype, 'int8');

  for (const act of ['token', 'static'] as const) {
    const { model: m, tokenizer } = await model();
    const report = quant('smoothquant', act)({ model: m, tokenizer } as Awaited<ReturnType<typeof model>>);
    const dir = tempDir();
    saveQuantized(dir, m, tokenizer, report);
    const back = await loadModel(dir, { backend });
    const w = back.model.weights.layers[2].w2;
    assert.ok(
      w.dtype === 'int8' && (act === 'static' ? typeof w.data.act === 'number' : w.data.act === 'token'),
    );
    const ids = tokenizer.encode('Once upon a time');
    const saved = Float32Array.from(back.model.forward(ids, back.model.newCache(), true));
    // the same function up to the summation order of the Hugging Face RoPE layout the folder uses
    assert.ok(maxAbsDiff(saved, m.forward(ids, m.newCache(), true)) < 1e-4, act);
  }
  // a plain f32 save of the twin loads back to the same function
  const { model: m, tokenizer } = await model();
  injectOutliers(m);
  const dir = tempDir();
  saveQuantizedModel(dir, m, tokenizer, null);
  const back = await loadModel(dir, { backend });
  const ids = tokenizer.encode('Once upon a time');
  const saved = Float32Array.from(back.model.forward(ids, back.model.newCache(), true));
  assert.ok(maxAbsDiff(saved, m.forward(ids, m.newCache(), true)) < 1e-4);
});
