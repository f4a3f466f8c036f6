import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGGUF, writeGGUF } from '../../src/formats/gguf.js';
import { WasmBackend } from '../../src/kernels/index.js';
import { loadModel } from '../../src/llm/load.js';
import { STORIES, maxAbsDiff, tempDir } from '../helpers.js';

const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());

test('GGUF Q4_0 weights load as int4 (no re-quantization) and match their dequantized f32 values', async () => {
  const src = readGGUF(join(STORIES, 'stories260K.v3.derived.gguf'));
  // the 64-wide matrices are whole Q4_0 blocks; ffn_down (172 columns) stays f32
  const tensors = src.tensors.map((t) => {
    const x = src.read(t.name);
    return [
      t.name,
      t.shape.length === 2 && t.shape[1] % 32 === 0 && t.name !== 'token_embd.weight' ? x.to('q4_0') : x,
    ] as const;
  });
  const dir = tempDir();
  const q4 = join(dir, 'q4.gguf');
  writeGGUF(q4, src.metadata, tensors);
  const dequantized = join(dir, 'deq.gguf');
  writeGGUF(
    dequantized,
    src.metadata,
    tensors.map(([n, t]) => [n, t.to('f32')] as const),
  );
  src.close();
  const a = await loadModel(q4, { backend });
  const b = await loadModel(dequantized, { backend });
  const wq = a.model.weights.layers[0].wq;
  const f = b.model.weights.layers[0].wq;
  assert.equal(wq.dtype, 'int4');
  assert.equal(a.model.weights.layers[0].w2.dtype, 'f32');
  if (wq.dtype !== 'int4' || f.dtype !== 'f32') throw new Error('unexpected weight types');
  // (q - zero) · scale, column by column, equals ggml's dequantization of the Q4_0 blocks exactly
  const [rows, cols] = [64, 64];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const byte: number = wq.data.packed[r * 32 + (c >> 1)];
      const g = r * 2 + Math.floor(c / 32);
      assert.equal(
        ((c & 1 ? byte >> 4 : byte & 15) - wq.data.zeros[g]) * wq.data.scales[g],
        f.data[r * cols + c],
      );
    }
  const ids = a.tokenizer.encode('Tom and Lily went to the park.');
  const la = a.model.forward(ids, a.model.newCache(), true);
  const lb = b.model.forward(ids, b.model.newCache(), true);
  assert.ok(maxAbsDiff(la, lb) < 0.5, `${maxAbsDiff(la, lb)}`); // q8 activation rounding only
});
