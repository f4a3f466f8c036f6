import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sampler, argmax } from '../../src/llm/sampler.js';

const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);

test('temperature 0 is argmax; the repetition penalty can change it', () => {
  assert.equal(new Sampler({ temperature: 0 }).sample(logits), 0);
  const x = Float32Array.from([2, 1.9, -1]);
  assert.equal(new Sampler({ temperature: 0, repetitionPenalty: 1.2 }).sample(x, [0]), 1);
  assert.equal(argmax(x), 0);
});

test('the same seed gives the same draws, another seed others', () => {
  const draw = (seed: number) => {
    const s = new Sampler({ seed, temperature: 1, topK: 0, topP: 1, minP: 0 });
    return Array.from({ length: 50 }, () => s.sample(logits));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
});

test('plain sampling follows the softmax distribution', () => {
  const s = new Sampler({ seed: 1, temperature: 1, topK: 0, topP: 1, minP: 0 });
  const counts = [0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[s.sample(logits)]++;
  [0.5, 0.3, 0.2].forEach((p, i) =>
    assert.ok(Math.abs(counts[i] / n - p) < 0.015, `token ${i}: ${counts[i] / n}`),
  );
});

test('top-k, top-p and min-p cut the candidates', () => {
  const only = (options: ConstructorParameters<typeof Sampler>[0]) => {
    const s = new Sampler({ seed: 3, temperature: 1, topK: 0, topP: 1, minP: 0, ...options });
    return new Set(Array.from({ length: 300 }, () => s.sample(logits)));
  };
  assert.deepEqual(only({ topK: 1 }), new Set([0]));
  assert.deepEqual(only({ topK: 2 }), new Set([0, 1]));
  assert.deepEqual(only({ topP: 0.5 }), new Set([0]));
  assert.deepEqual(only({ topP: 0.75 }), new Set([0, 1]));
  assert.deepEqual(only({ minP: 0.5 }), new Set([0, 1])); // 0.2 < 0.5 x 0.5
  assert.deepEqual(only({ minP: 0.7 }), new Set([0]));
});

test('nonsense options are UserErrors', () => {
  const finite = { name: 'UserError', message: /must be a finite number >= 0/ };
  assert.throws(() => new Sampler({ temperature: -1 }), finite);
  assert.throws(() => new Sampler({ topP: 1.5 }), {
    name: 'UserError',
    message: /topP and minP must lie in \[0, 1\]/,
  });
  assert.throws(() => new Sampler({ topK: NaN }), finite);
});

test('Llama 3 RoPE scaling keeps high frequencies, divides low ones by the factor, blends between', async () => {
  const { ropeFrequencies } = await import('../../src/llm/config.js');
  const base = {
    architecture: 'llama',
    dim: 4096,
    hiddenDim: 14336,
    nLayers: 1,
    nHeads: 32,
    nKvHeads: 8,
    headDim: 128,
    vocabSize: 10,
    contextLength: 131072,
    normEps: 1e-5,
    ropeTheta: 500000,
    ropeStyle: 'halves' as const,
    attentionBias: false,
    tiedEmbeddings: false,
  };
  const plain = ropeFrequencies({ ...base, ropeScaling: null });
  const scaled = ropeFrequencies({
    ...base,
    ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  });
  let blended = 0;
  plain.forEach((f, i) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < 8192 / 4) assert.equal(scaled[i], f);
    else if (wavelen > 8192) assert.ok(Math.abs(scaled[i] - f / 8) < 1e-12);
    else {
      assert.ok(scaled[i] < f && scaled[i] > f / 8);
      blended++;
    }
  });
  assert.ok(blended > 0);
});
