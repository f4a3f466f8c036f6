/**
 * Every weight format through a whole forward pass at real model shapes: the WASM backend against
 * the reference backend, and effml against llama.cpp (node-llama-cpp) on the same GGUF file, logits
 * compared at every position of one teacher-forced token sequence.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Token, getLlama } from 'node-llama-cpp';
import { readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { ReferenceBackend, WasmBackend } from '../../src/kernels/index.js';
import { DEFAULT_MODEL, loadModel } from '../../src/llm/load.js';
import { type SynthDType, synthesize } from '../../src/llm/synth.js';
import { tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import { tempDir } from '../helpers.js';

/**
 * Bounds on max |Δlogit| / max |logit| over all positions. Between the backends f32 and f16 differ
 * only in summation order (measured under 1e-6). Every quantized linear quantizes its activations
 * to q8_0 blocks (as ggml does); in these synthetic models (unit norm weights) many activations sit
 * on exact rounding ties, so one ulp of difference upstream flips a rounding and moves the logits by
 * a few percent of their range (measured: q8_0 up to 1.2%, q4_0 2.0%). llama.cpp adds its f16 KV
 * cache (and for f16 weights f16 activations): measured f32 0.08%, f16 0.11%, q8_0 1.8%, q4_0 2.3%.
 * A kernel that reads wrong weights is off by more than the whole range (the Q4_0 bug: 148%).
 */
const BACKEND_BOUND: Record<SynthDType, number> = { f32: 1e-5, f16: 1e-5, q8_0: 0.05, q4_0: 0.05 };
const PEER_BOUND: Record<SynthDType, number> = { f32: 0.005, f16: 0.01, q8_0: 0.05, q4_0: 0.05 };

const CASES: [string, SynthDType][] = [
  ['smollm2-135m', 'f32'],
  ['smollm2-135m', 'f16'],
  ['smollm2-135m', 'q8_0'],
  ['smollm2-135m', 'q4_0'],
  ['tinyllama-1.1b', 'q8_0'],
  ['tinyllama-1.1b', 'q4_0'],
];
const TOKENS = [1, 412, 87, 3, 250, 19, 77, 498, 12, 301];

const vocab = tokenizerFromLlama2c(
  readLlama2cTokenizer(DEFAULT_MODEL.replace(/stories260K\.gguf$/, 'tok512.bin')),
).vocab;
const wasm = await WasmBackend.create({ threads: 2 });
const reference = new ReferenceBackend();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
after(async () => {
  wasm.dispose();
  await llama.dispose();
});
const dir = tempDir();

async function effmlLogits(path: string, backend: WasmBackend | ReferenceBackend): Promise<Float32Array> {
  const loaded = await loadModel(path, { backend });
  const logits = loaded.model.forward(TOKENS, loaded.model.newCache({ capacity: 64 }), true).slice();
  loaded.dispose();
  return logits;
}

async function llamaCppLogits(path: string, vocabSize: number): Promise<Float32Array> {
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 64, threads: 2 });
  const results = await context
    .getSequence()
    .controlledEvaluate(TOKENS.map((t) => [t as Token, { generateNext: { logits: true } }]));
  const logits = new Float32Array(TOKENS.length * vocabSize);
  results.forEach((r, t) => {
    for (const [token, v] of r?.next?.logits ?? []) logits[t * vocabSize + token] = v;
  });
  await context.dispose();
  await model.dispose();
  return logits;
}

/** max |a - b| / max |b|, and the positions where the argmax differs though b's top-2 margin exceeds twice that error. */
function compare(a: Float32Array, b: Float32Array, V: number): { relative: number; flips: number[] } {
  let diff = 0;
  let range = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    range = Math.max(range, Math.abs(b[i]));
  }
  const flips: number[] = [];
  for (let t = 0; t < b.length / V; t++) {
    const row = (x: Float32Array) => x.subarray(t * V, (t + 1) * V);
    const [top, second] = [...row(b)].map((v, i) => [v, i]).sort((x, y) => y[0] - x[0]);
    const argmaxA = row(a).indexOf(Math.max(...row(a)));
    if (argmaxA !== top[1] && top[0] - second[0] > 2 * diff) flips.push(t);
  }
  return { relative: diff / range, flips };
}

describe('weight formats through whole forward passes at real shapes', () => {
  for (const [like, dtype] of CASES)
    test(`${like} (2 layers) ${dtype}: WASM = reference, effml = llama.cpp`, async () => {
      const path = join(dir, `${like}-${dtype}.gguf`);
      synthesize(path, { like, format: 'gguf', dtype, vocab, layers: 2, contextLength: 64 });
      const ofWasm = await effmlLogits(path, wasm);
      const V = ofWasm.length / TOKENS.length;
      const ofReference = await effmlLogits(path, reference);
      const ofLlamaCpp = await llamaCppLogits(path, V);

      const backends = compare(ofWasm, ofReference, V);
      assert.ok(
        backends.relative <= BACKEND_BOUND[dtype],
        `WASM vs reference: ${backends.relative} > ${BACKEND_BOUND[dtype]}`,
      );
      assert.deepEqual(backends.flips, [], 'WASM and reference disagree on a clear argmax');
      for (const [name, ours] of [
        ['WASM', ofWasm],
        ['reference', ofReference],
      ] as const) {
        const peer = compare(ours, ofLlamaCpp, V);
        assert.ok(
          peer.relative <= PEER_BOUND[dtype],
          `${name} vs llama.cpp: ${peer.relative} > ${PEER_BOUND[dtype]}`,
        );
        assert.deepEqual(peer.flips, [], `${name} and llama.cpp disagree on a clear argmax`);
      }
    });
});
