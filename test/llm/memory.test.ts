/**
 * Memory ownership on the WASM heap: every library call gives back the heap arrays it allocates,
 * an object that allocates frees on dispose(), and quantizing in place leaves exactly the new
 * weights. Measured with WasmBackend.bytesInUse() on one backend shared by every step.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { measureSpeed } from '../../src/eval/speed.js';
import { streamPerplexity } from '../../src/eval/stream-perplexity.js';
import { HEAP_ALIGN, WasmBackend } from '../../src/kernels/wasm-backend.js';
import { Chat } from '../../src/llm/chat.js';
import { DEFAULT_MODEL, type LoadedModel, loadModel } from '../../src/llm/load.js';
import type { LlamaModel } from '../../src/llm/model.js';
import { Session } from '../../src/llm/session.js';
import type { Linear } from '../../src/llm/weights.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { LINEAR_KEYS } from '../../src/quant/quantize-model.js';
import { quantizeLlama } from '../../src/quant/quantize.js';
import { buildEie } from '../../src/sparse/eie-layer.js';
import { predictEie } from '../../src/sparse/eie-network.js';
import { SHARED, rng } from '../helpers.js';

const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());
const lines = readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const evalText = lines.slice(0, 12).join('\n');
const calibText = lines.slice(3000, 3100).join('\n');
const calibration = { samples: 4, seqLen: 64 };

/** Heap bytes an array holds: the backend rounds every allocation up to whole cache lines. */
const held = (a: ArrayBufferView) => Math.ceil(a.byteLength / HEAP_ALIGN) * HEAP_ALIGN;

const linearBytes = (w: Linear) => {
  if (w.dtype === 'int4') return held(w.data.packed) + held(w.data.scales) + held(w.data.zeros);
  if (w.dtype === 'int8') return held(w.data.q) + held(w.data.scales);
  return held(w.data);
};

/** Heap bytes of the decoder linears (what in-place quantization replaces). */
const decoderLinearBytes = (model: LlamaModel) =>
  model.weights.layers.reduce((sum, L) => sum + LINEAR_KEYS.reduce((s, k) => s + linearBytes(L[k]), 0), 0);

/** Heap bytes of a KV cache of `capacity` slots on the model. */
const cacheBytes = (model: LlamaModel, capacity: number) => {
  const { nLayers, nKvHeads, headDim } = model.config;
  return 2 * nLayers * held(new Float32Array(capacity * nKvHeads * headDim));
};

/** Runs `op` (given the bytes in use before it) and asserts the heap holds exactly what it held before. */
async function assertHeapAfter(what: string, op: (before: number) => unknown): Promise<void> {
  const before = backend.bytesInUse();
  await op(before);
  assert.equal(
    backend.bytesInUse(),
    before,
    `${what}: ${before} bytes before, ${backend.bytesInUse()} after`,
  );
}

const empty = backend.bytesInUse();
const loaded = await loadModel(DEFAULT_MODEL, { backend });
const { model, tokenizer } = loaded;

test('perplexity, calibration and the speed measurement give back their caches', async () => {
  assert.ok(backend.bytesInUse() > empty, 'the model lives in the heap');
  await assertHeapAfter('perplexity per line', () =>
    perplexity(model, tokenizer, evalText, { perLine: true }),
  );
  await assertHeapAfter('perplexity sliding', () =>
    perplexity(model, tokenizer, evalText, { ctx: 64, stride: 32 }),
  );
  await assertHeapAfter('calibrate', () => calibrate(model, tokenizer, calibText, calibration));
  await assertHeapAfter('speed', () => measureSpeed(model, { prompts: [16], decode: 4 }));
});

test('a stream-ppl run frees its session; a Chat and a Session hold their cache until dispose()', async () => {
  await assertHeapAfter('stream-ppl', () =>
    streamPerplexity(model, tokenizer, evalText, { cache: { policy: 'sink', capacity: 32 }, tokens: 80 }),
  );
  await assertHeapAfter('chat turn and dispose', async (before) => {
    const chat = new Chat(model, tokenizer, undefined, { capacity: 64 });
    await chat.send('Hello', { temperature: 0, maxTokens: 8 });
    assert.equal(backend.bytesInUse() - before, cacheBytes(model, 64), 'the chat holds its KV cache');
    chat.dispose();
  });
  await assertHeapAfter('session and dispose', async (before) => {
    const session = new Session(model, tokenizer, { capacity: 64 });
    await session.generate(tokenizer.encode('Once upon a time'), { temperature: 0, maxTokens: 8 });
    assert.equal(backend.bytesInUse() - before, cacheBytes(model, 64), 'the session holds its KV cache');
    session.dispose();
  });
});

test('EIE inference frees its copies of the layers', async () => {
  const random = rng(3);
  const codes = (n: number) =>
    Uint8Array.from({ length: n }, () => (random() < 0.3 ? 1 + Math.floor(random() * 15) : 0));
  const codebook = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0 : random() - 0.5));
  const net = {
    name: 'mlp',
    names: ['fc1', 'fc2'],
    layers: [
      buildEie(codes(24 * 16), codebook, 24, 16, 2, new Float32Array(24)),
      buildEie(codes(4 * 24), codebook, 4, 24, 2, null),
    ],
  };
  const data = {
    images: Float32Array.from({ length: 3 * 16 }, random),
    labels: new Uint8Array(3),
    count: 3,
    shape: [4, 4, 1] as [number, number, number],
  };
  await assertHeapAfter('predictEie', () => predictEie(net, data, backend));
});

/**
 * Quantizes a model in place and asserts that the heap then holds what it held before, less the
 * f32 decoder linears, plus their int4 / int8 replacements: the embedding, norms, classifier and
 * run state stay, and whatever the quantizer used on the way (calibration cache) is gone.
 */
async function assertQuantizedInPlace(m: LoadedModel, what: string, quantize: () => unknown): Promise<void> {
  const f32Bytes = decoderLinearBytes(m.model);
  const before = backend.bytesInUse();
  await quantize();
  const quantizedBytes = decoderLinearBytes(m.model);
  assert.ok(quantizedBytes < f32Bytes / 2, `${what}: smaller weights`);
  assert.equal(
    backend.bytesInUse(),
    before - f32Bytes + quantizedBytes,
    `${what}: the f32 linears are freed`,
  );
}

test('AWQ int4 in place frees the f32 linears; loaded.dispose() frees the model on a shared backend', async () => {
  await assertQuantizedInPlace(loaded, 'awq', () =>
    quantizeLlama(model, tokenizer, { method: 'awq', bits: 4, groupSize: 32, calibText, calibration }),
  );
  loaded.dispose();
  assert.equal(backend.bytesInUse(), empty, 'weights, run state and nothing else');
  loaded.dispose(); // twice is harmless
});

test('SmoothQuant W8A8 in place frees the f32 linears', async () => {
  const fresh = await loadModel(DEFAULT_MODEL, { backend });
  await assertQuantizedInPlace(fresh, 'smoothquant', () =>
    quantizeLlama(fresh.model, fresh.tokenizer, {
      method: 'smoothquant',
      bits: 8,
      groupSize: 0,
      calibText,
      calibration,
    }),
  );
  fresh.dispose();
  assert.equal(backend.bytesInUse(), empty);
});
