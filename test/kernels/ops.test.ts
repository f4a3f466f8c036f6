/** The kernel descriptions (src/kernels/ops.ts) against the module, and where each op of the WASM backend runs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WASM_PLACEMENT } from '../../src/kernels/wasm-backend.js';
import { CTRL, CTRL_INTS } from '../../src/kernels/parallel.js';
import { MAX_SPLIT_ARGS, OPS, SPLIT_OPS, checkKernels, readLayout } from '../../src/kernels/ops.js';
import { DTYPES } from '../../src/tensor/dtype.js';

const module = new WebAssembly.Module(readFileSync(new URL('../../../build/kernels.wasm', import.meta.url)));
const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;

test('every export is described with its parameter count, and the layout globals equal DTYPES', () => {
  checkKernels(exports);
  for (const [name, spec] of Object.entries(OPS))
    assert.equal((exports[name] as (...a: number[]) => unknown).length, spec.args.length, name);
  const layout = readLayout(exports);
  for (const dtype of ['q8_0', 'q4_0', 'q4_1'] as const)
    assert.deepEqual(
      [layout.QK, layout[`${dtype.toUpperCase()}_BYTES` as 'Q8_0_BYTES']],
      [DTYPES[dtype].blockSize, DTYPES[dtype].bytes],
    );
});

test('a description that disagrees with the module is refused at startup', () => {
  const wrongCount = { ...exports, add_f32: (out: number, a: number) => out + a };
  assert.throws(() => checkKernels(wrongCount), {
    name: 'Error',
    message: /add_f32 takes 2 arguments, its description names 4/,
  });
  const undescribed = { ...exports, sub_f32: () => 0 };
  assert.throws(() => checkKernels(undescribed), { name: 'Error', message: /sub_f32 has no description/ });
  const missing = Object.fromEntries(Object.entries(exports).filter(([name]) => name !== 'matvec_f32'));
  assert.throws(() => checkKernels(missing), { name: 'Error', message: /lacks the export matvec_f32/ });
  const drifted = { ...exports, Q4_0_BYTES: { value: 20 } };
  assert.throws(() => checkKernels(drifted), {
    name: 'Error',
    message: /layout of q4_0 \(32 in 20 bytes\) differs from DTYPES/,
  });
});

test('split ops end in their row range and fit the control block', () => {
  assert.equal(CTRL_INTS, CTRL.ARGS + MAX_SPLIT_ARGS);
  for (const p of SPLIT_OPS) {
    assert.ok(p.args.length - 2 <= MAX_SPLIT_ARGS, p.name);
    assert.ok(p.scratchAt < p.args.length - 2, p.name);
    assert.ok(p.grain >= 1, p.name);
  }
  assert.deepEqual(
    SPLIT_OPS.map((p) => `${p.name}: ${p.args.slice(-2).join(', ')} of ${p.rows} / ${p.grain}`),
    [
      'matvec_f32: r0, r1 of N / 4',
      'matvec_stream_f32: r0, r1 of N / 4',
      'matmul_f32: r0, r1 of N / 4',
      'matmul_q8_0_q8: r0, r1 of N / 4',
      'matmul_tiled_q8_0_f32: r0, r1 of N / 4',
      'matmul_int4_f32: r0, r1 of N / 4',
      'matmul_int4_q8: r0, r1 of N / 4',
      'matmul_tiled_int4_f32: r0, r1 of N / 4',
      'matmul_i8_i8: r0, r1 of N / 4',
      'attention_f32: h0, h1 of heads / 1',
      'eie_spmv: k0, k1 of pes / 1',
    ],
  );
});

test('where each Backend op runs on the WASM backend', () => {
  const typescript = Object.entries(WASM_PLACEMENT)
    .filter(([, where]) => where === 'typescript')
    .map(([op]) => op);
  assert.deepEqual(typescript, ['embedding']);
  assert.deepEqual(Object.keys(WASM_PLACEMENT).sort(), [
    'add',
    'attention',
    'col2im',
    'dequantize',
    'embedding',
    'im2col',
    'matmul',
    'matmulInt4',
    'matmulInt8',
    'matmulQuantized',
    'matvec',
    'mul',
    'rmsnorm',
    'rope',
    'silu',
    'spmvEie',
    'transpose',
  ]);
});
