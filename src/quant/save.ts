/**
 * Writes a quantized model as a Hugging Face style folder that effml loads back: config.json with
 * a quantization_config, model.safetensors, tokenizer files. Each int4 linear `<name>` is stored as
 *   <name>.qweight  U8  [out, ceil(in / 2)]  two 4-bit values per byte, the even input column in the low nibble
 *   <name>.scales   F16 [out, groups]        groups of group_size input columns, the last one possibly partial
 *   <name>.qzeros   F16 [out, groups]        integer zero points: w = (q - zero) · scale
 * 2- and 3-bit values use 4-bit slots. A W8A8 linear (quant_method effml-w8a8) is
 *   <name>.qweight    I8  [out, in]   symmetric: w = q · scale
 *   <name>.scales     F32 [out]       one per output row (all equal for per-tensor weights)
 *   <name>.act_scale  F32 [1]         the static activation scale (act = static only)
 * Without quantization info every linear is stored f32 (a plain model). Q and K rows are stored in the Hugging Face (rotate-half)
 * order, permuted from Meta's when the source model used adjacent pairs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../formats/atomic-write.js';
import { writeSafetensors } from '../formats/safetensors.js';
import type { TensorLike } from '../formats/tensor-file.js';
import type { LlamaModel } from '../llm/model.js';
import { hfConfigJson } from '../llm/hf-config.js';
import { halvesRowOrder, permuteRows } from '../llm/rope-layout.js';
import { globalTensorName, layerTensorName } from '../llm/weights.js';
import { Tensor } from '../tensor/tensor.js';
import { tokenizerFiles } from '../tokenizer/export.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { checkAutoAwqShape, toAutoAwq } from './autoawq.js';
import { LINEAR_KEYS, linearShape } from './quantize-model.js';

export const QUANT_METHOD = 'effml-int4';

export interface QuantizationInfo {
  method: 'rtn' | 'awq' | 'w8a8' | 'smoothquant';
  bits: number;
  groupSize: number;
  [detail: string]: unknown;
}

/** `autoawq` writes AutoAWQ's GEMM layout instead (4-bit, whole groups, out_features a multiple of 8). */
export function saveQuantizedModel(
  dir: string,
  model: LlamaModel,
  tokenizer: Tokenizer,
  /** null: a plain f32 model (every linear f32) */
  info: QuantizationInfo | null,
  format: 'effml' | 'autoawq' = 'effml',
): void {
  const c = model.config;
  if (format === 'autoawq' && info?.bits !== 4)
    throw new RangeError(`AutoAWQ checkpoints are 4-bit; this model is ${info ? `int${info.bits}` : 'f32'}`);
  mkdirSync(dir, { recursive: true });
  const adjacent = c.ropeStyle === 'adjacent';
  const order = { wq: halvesRowOrder(c.nHeads, c.headDim), wk: halvesRowOrder(c.nKvHeads, c.headDim) };
  const f32 = (a: Float32Array, shape: number[]) => Tensor.fromFloat32(shape, a);
  const tensors: [string, TensorLike][] = [
    [globalTensorName('hf', 'embed'), f32(model.weights.embed, [c.vocabSize, c.dim])],
  ];
  model.weights.layers.forEach((L, l) => {
    const name = (key: Parameters<typeof layerTensorName>[2]) => layerTensorName('hf', l, key);
    tensors.push([name('attnNorm'), f32(L.attnNorm, [c.dim])], [name('ffnNorm'), f32(L.ffnNorm, [c.dim])]);
    for (const [key, bias] of [
      ['bq', L.bq],
      ['bk', L.bk],
      ['bv', L.bv],
    ] as const) {
      if (!bias) continue;
      const reorder = adjacent && key !== 'bv' ? order[key === 'bq' ? 'wq' : 'wk'] : null;
      tensors.push([name(key), f32(reorder ? permuteRows(bias, 1, reorder) : bias, [bias.length])]);
    }
    for (const key of LINEAR_KEYS) {
      const w = L[key];
      const [rows, cols] = linearShape(model, key);
      const reorder = adjacent && (key === 'wq' || key === 'wk') ? order[key] : null;
      const rowsOf = <T extends Float32Array | Uint8Array>(a: T, width: number) =>
        reorder ? permuteRows(a, width, reorder) : a;
      if (w.dtype === 'f32') {
        tensors.push([name(key), f32(rowsOf(w.data, cols), [rows, cols])]);
        continue;
      }
      const base = name(key).replace(/\.weight$/, '');
      if (w.dtype === 'int8') {
        if (format === 'autoawq') throw new RangeError('AutoAWQ checkpoints hold int4 weights, not W8A8');
        const q = new Uint8Array(w.data.q.buffer, w.data.q.byteOffset, w.data.q.length);
        tensors.push(
          [`${base}.qweight`, Tensor.fromBytes('i8', [rows, cols], rowsOf(q, cols).slice())],
          [`${base}.scales`, f32(rowsOf(w.data.scales, 1), [rows])],
        );
        if (typeof w.data.act === 'number')
          tensors.push([`${base}.act_scale`, f32(Float32Array.of(w.data.act), [1])]);
        continue;
      }
      if (w.dtype !== 'int4')
        throw new RangeError(`layer ${l} ${key} is ${w.dtype}, which this writer does not store`);
      const groups = w.data.scales.length / rows;
      const int4 = {
        packed: rowsOf(w.data.packed, Math.ceil(cols / 2)),
        scales: rowsOf(w.data.scales, groups),
        zeros: rowsOf(w.data.zeros, groups),
        groupSize: w.data.groupSize,
      };
      if (format === 'autoawq') {
        checkAutoAwqShape(rows, cols, int4.groupSize, base);
        const t = toAutoAwq(int4, rows, cols);
        tensors.push(
          [`${base}.qweight`, Tensor.fromBytes('i32', [cols, rows / 8], new Uint8Array(t.qweight.buffer))],
          [`${base}.qzeros`, Tensor.fromBytes('i32', [groups, rows / 8], new Uint8Array(t.qzeros.buffer))],
          [`${base}.scales`, f32(t.scales, [groups, rows]).to('f16')],
        );
      } else
        tensors.push(
          [`${base}.qweight`, Tensor.fromBytes('u8', [rows, Math.ceil(cols / 2)], int4.packed)],
          [`${base}.scales`, f32(int4.scales, [rows, groups]).to('f16')],
          [`${base}.qzeros`, f32(int4.zeros, [rows, groups]).to('f16')],
        );
    }
  });
  tensors.push([globalTensorName('hf', 'finalNorm'), f32(model.weights.finalNorm, [c.dim])]);
  if (!c.tiedEmbeddings) {
    const out = model.weights.output;
    if (out.dtype !== 'f32') throw new RangeError('the classifier must be f32 to be saved');
    tensors.push([globalTensorName('hf', 'output'), f32(out.data, [c.vocabSize, c.dim])]);
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });

  const json = (file: string, value: unknown) =>
    writeFileAtomic(join(dir, file), (write) =>
      write(new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n')),
    );
  json(
    'config.json',
    hfConfigJson(c, {
      torch_dtype: 'float32',
      ...(info && { quantization_config: quantizationConfig(info, format) }),
    }),
  );
  const files = tokenizerFiles(tokenizer);
  json('tokenizer.json', files.json);
  json('tokenizer_config.json', files.config);
  json('generation_config.json', { bos_token_id: tokenizer.bos, eos_token_id: tokenizer.eos });
}

function quantizationConfig(info: QuantizationInfo, format: 'effml' | 'autoawq'): Record<string, unknown> {
  if (format === 'autoawq')
    return { quant_method: 'awq', version: 'gemm', bits: 4, group_size: info.groupSize, zero_point: true };
  if (info.bits === 8) return { quant_method: 'effml-w8a8', ...info, group_size: 0, w_bit: 8 };
  return {
    quant_method: QUANT_METHOD,
    zero_point: true,
    ...info,
    group_size: info.groupSize,
    w_bit: info.bits,
  };
}
