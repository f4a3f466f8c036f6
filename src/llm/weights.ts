/**
 * Loads a model's weights from any TensorFile into f32 arrays of the compute backend, by the
 * naming scheme of the file's format. Quantized and half-precision weights are dequantized on load.
 */
import type { Backend, Int4Weights, Int8Weights } from '../kernels/backend.js';
import { FormatError } from '../formats/errors.js';
import type { TensorFile } from '../formats/tensor-file.js';
import { DTYPES } from '../tensor/dtype.js';
import { f16ToF32 } from '../tensor/half.js';
import { fromAutoAwq } from '../quant/autoawq.js';
import type { LlamaConfig } from './config.js';

/** A weight matrix [N, K] as the matmul kernels take it: f32, q8_0 blocks kept as stored, group-wise int4, or W8A8 int8. */
export type Linear =
  | { dtype: 'f32'; data: Float32Array }
  | { dtype: 'q8_0'; data: Uint8Array }
  | { dtype: 'int4'; data: Int4Weights }
  | { dtype: 'int8'; data: Int8Weights };

/** How a quantized model folder stores its linears (quantization_config). */
export interface StoredQuantization {
  format: 'effml-int4' | 'awq' | 'effml-w8a8';
  /** int4: columns per group, 0 = one group per row */
  groupSize: number;
  /** W8A8: how activations are quantized */
  act?: 'token' | 'tensor' | 'static';
}

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;
  bq: Float32Array | null;
  bk: Float32Array | null;
  bv: Float32Array | null;
  ffnNorm: Float32Array;
  /** gate */
  w1: Linear;
  /** down */
  w2: Linear;
  /** up */
  w3: Linear;
}

export interface LlamaWeights {
  embed: Float32Array;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  /** the classifier; the embedding itself when tied */
  output: Linear;
}

export type NamingScheme = 'gguf' | 'meta' | 'hf';

type LayerKey = Exclude<keyof LayerWeights, never>;
const LAYER_NAMES: Record<NamingScheme, Record<LayerKey, string>> = {
  gguf: {
    attnNorm: 'attn_norm.weight',
    wq: 'attn_q.weight',
    wk: 'attn_k.weight',
    wv: 'attn_v.weight',
    wo: 'attn_output.weight',
    bq: 'attn_q.bias',
    bk: 'attn_k.bias',
    bv: 'attn_v.bias',
    ffnNorm: 'ffn_norm.weight',
    w1: 'ffn_gate.weight',
    w2: 'ffn_down.weight',
    w3: 'ffn_up.weight',
  },
  meta: {
    attnNorm: 'attention_norm.weight',
    wq: 'attention.wq.weight',
    wk: 'attention.wk.weight',
    wv: 'attention.wv.weight',
    wo: 'attention.wo.weight',
    bq: 'attention.wq.bias',
    bk: 'attention.wk.bias',
    bv: 'attention.wv.bias',
    ffnNorm: 'ffn_norm.weight',
    w1: 'feed_forward.w1.weight',
    w2: 'feed_forward.w2.weight',
    w3: 'feed_forward.w3.weight',
  },
  hf: {
    attnNorm: 'input_layernorm.weight',
    wq: 'self_attn.q_proj.weight',
    wk: 'self_attn.k_proj.weight',
    wv: 'self_attn.v_proj.weight',
    wo: 'self_attn.o_proj.weight',
    bq: 'self_attn.q_proj.bias',
    bk: 'self_attn.k_proj.bias',
    bv: 'self_attn.v_proj.bias',
    ffnNorm: 'post_attention_layernorm.weight',
    w1: 'mlp.gate_proj.weight',
    w2: 'mlp.down_proj.weight',
    w3: 'mlp.up_proj.weight',
  },
};
const LAYER_PREFIX: Record<NamingScheme, string> = { gguf: 'blk.', meta: 'layers.', hf: 'model.layers.' };
const GLOBAL_NAMES: Record<NamingScheme, { embed: string; finalNorm: string; output: string }> = {
  gguf: { embed: 'token_embd.weight', finalNorm: 'output_norm.weight', output: 'output.weight' },
  meta: { embed: 'tok_embeddings.weight', finalNorm: 'norm.weight', output: 'output.weight' },
  hf: { embed: 'model.embed_tokens.weight', finalNorm: 'model.norm.weight', output: 'lm_head.weight' },
};

/** The name of a layer tensor in a naming scheme (used by writers too). */
export function layerTensorName(scheme: NamingScheme, layer: number, key: LayerKey): string {
  return `${LAYER_PREFIX[scheme]}${layer}.${LAYER_NAMES[scheme][key]}`;
}

export function globalTensorName(scheme: NamingScheme, key: 'embed' | 'finalNorm' | 'output'): string {
  return GLOBAL_NAMES[scheme][key];
}

export function loadWeights(
  file: TensorFile,
  scheme: NamingScheme,
  c: LlamaConfig,
  backend: Backend,
  onTensor: (done: number, total: number) => void = () => {},
  quantization?: StoredQuantization,
): LlamaWeights {
  const infos = new Map(file.tensors.map((t) => [t.name, t]));
  const kvDim = c.nKvHeads * c.headDim;
  const qDim = c.nHeads * c.headDim;
  const perLayer = c.attentionBias ? 12 : 9;
  // an int4 linear is three tensors, an int8 one two or three
  const total = 2 + c.nLayers * (perLayer + (quantization ? 14 : 0)) + (c.tiedEmbeddings ? 0 : 1);
  let done = 0;

  const read = (name: string, shape: number[]) => {
    const info = infos.get(name);
    if (!info) throw new FormatError(file.path, `missing tensor ${name}`);
    if (info.shape.join() !== shape.join())
      throw new FormatError(
        file.path,
        `tensor ${name} has shape [${info.shape.join(', ')}], the config implies [${shape.join(', ')}]`,
      );
    const t = file.read(name);
    onTensor(++done, total);
    return t;
  };
  /** An f32 copy in the backend's memory, dequantized or converted as needed. */
  const load = (name: string, shape: number[]): Float32Array => {
    const t = read(name, shape);
    const out = backend.allocF32(t.numel);
    if (t.dtype === 'f32') out.set(t.data as Float32Array);
    else if (DTYPES[t.dtype].blockSize > 1 || t.dtype === 'f16' || t.dtype === 'bf16')
      backend.dequantize(out, t.data as Uint8Array | Uint16Array, t.dtype, t.numel);
    else out.set(t.toFloat32());
    return out;
  };
  /** int4 (effml's saved format), Q4_0 (as int4) and Q8_0 matrices stay quantized; others become f32. */
  const linear = (name: string, shape: number[]): Linear => {
    const base = name.replace(/\.weight$/, '');
    if (infos.has(`${base}.qweight`)) {
      if (!quantization) throw new FormatError(file.path, `${base}.qweight without a quantization_config`);
      const [rows, cols] = shape;
      if (quantization.format === 'effml-w8a8') {
        const q = read(`${base}.qweight`, [rows, cols]);
        if (q.dtype !== 'i8')
          throw new FormatError(file.path, `${base}.qweight is ${q.dtype}, W8A8 stores i8`);
        const heapQ = backend.allocBytes(rows * cols);
        heapQ.set(q.bytes);
        const scales = backend.allocF32(rows);
        scales.set(read(`${base}.scales`, [rows]).toFloat32());
        const act =
          quantization.act === 'static' ? read(`${base}.act_scale`, [1]).toFloat32()[0] : quantization.act;
        if (act === undefined || (typeof act === 'number' && !(act > 0 && Number.isFinite(act))))
          throw new FormatError(
            file.path,
            `${base}: activation scale ${String(act)} is not a positive number`,
          );
        return {
          dtype: 'int8',
          data: { q: new Int8Array(heapQ.buffer, heapQ.byteOffset, rows * cols), scales, act },
        };
      }
      const groupSize = quantization.groupSize || cols; // 0: one group per row
      const groups = Math.ceil(cols / groupSize);
      const bytes = (key: string, s: number[]) => {
        const t = read(`${base}.${key}`, s);
        const out = backend.allocBytes(t.byteLength);
        out.set(t.bytes);
        return out;
      };
      const heapF32 = (values: Float32Array) => {
        const out = backend.allocF32(values.length);
        out.set(values);
        return out;
      };
      if (quantization.format === 'awq') {
        if (cols % groupSize !== 0 || rows % 8 !== 0)
          throw new FormatError(file.path, `${base}: shape [${rows}, ${cols}] does not fit AutoAWQ's layout`);
        const int32 = (key: string, s: number[]) =>
          new Int32Array(read(`${base}.${key}`, s).bytes.slice().buffer);
        const t = fromAutoAwq(
          {
            qweight: int32('qweight', [cols, rows / 8]),
            qzeros: int32('qzeros', [groups, rows / 8]),
            scales: read(`${base}.scales`, [groups, rows]).toFloat32(),
          },
          rows,
          cols,
          groupSize,
        );
        const packed = backend.allocBytes(t.packed.length);
        packed.set(t.packed);
        return {
          dtype: 'int4',
          data: { packed, scales: heapF32(t.scales), zeros: heapF32(t.zeros), groupSize },
        };
      }
      const groupValues = (key: string) => heapF32(read(`${base}.${key}`, [rows, groups]).toFloat32());
      return {
        dtype: 'int4',
        data: {
          packed: bytes('qweight', [rows, Math.ceil(cols / 2)]),
          scales: groupValues('scales'),
          zeros: groupValues('qzeros'),
          groupSize,
        },
      };
    }
    if (infos.get(name)?.dtype === 'q4_0')
      return { dtype: 'int4', data: q4_0AsInt4(read(name, shape).data as Uint8Array, shape, backend) };
    if (infos.get(name)?.dtype !== 'q8_0') return { dtype: 'f32', data: load(name, shape) };
    const t = read(name, shape);
    const out = backend.allocBytes(t.byteLength);
    out.set(t.bytes);
    return { dtype: 'q8_0', data: out };
  };
  const names = GLOBAL_NAMES[scheme];
  const embed = load(names.embed, [c.vocabSize, c.dim]);
  const layers = Array.from({ length: c.nLayers }, (_, l): LayerWeights => {
    const get = (key: LayerKey, shape: number[]) => load(layerTensorName(scheme, l, key), shape);
    const mat = (key: LayerKey, shape: number[]) => linear(layerTensorName(scheme, l, key), shape);
    return {
      attnNorm: get('attnNorm', [c.dim]),
      wq: mat('wq', [qDim, c.dim]),
      wk: mat('wk', [kvDim, c.dim]),
      wv: mat('wv', [kvDim, c.dim]),
      wo: mat('wo', [c.dim, qDim]),
      bq: c.attentionBias ? get('bq', [qDim]) : null,
      bk: c.attentionBias ? get('bk', [kvDim]) : null,
      bv: c.attentionBias ? get('bv', [kvDim]) : null,
      ffnNorm: get('ffnNorm', [c.dim]),
      w1: mat('w1', [c.hiddenDim, c.dim]),
      w2: mat('w2', [c.dim, c.hiddenDim]),
      w3: mat('w3', [c.hiddenDim, c.dim]),
    };
  });
  const finalNorm = load(names.finalNorm, [c.dim]);
  const output: Linear = c.tiedEmbeddings
    ? { dtype: 'f32', data: embed }
    : linear(names.output, [c.vocabSize, c.dim]);
  return { embed, layers, finalNorm, output };
}

/**
 * GGUF Q4_0 blocks as group-wise int4, exactly: block_q4_0 { f16 d; u8 qs[16] } holds 32 weights
 * d · (q - 8), element j in the low nibble of qs[j] and j + 16 in the high one; as int4 that is a
 * group of 32 with scale d and zero point 8, repacked to two consecutive columns per byte.
 */
function q4_0AsInt4(blocks: Uint8Array, [rows, cols]: number[], backend: Backend): Int4Weights {
  const groups = cols / 32;
  const packed = backend.allocBytes((rows * cols) / 2);
  const scales = backend.allocF32(rows * groups);
  const zeros = backend.allocF32(rows * groups).fill(8);
  for (let b = 0; b < rows * groups; b++) {
    const o = b * 18;
    scales[b] = f16ToF32(blocks[o] | (blocks[o + 1] << 8));
    for (let j = 0; j < 32; j++) {
      const q = j < 16 ? blocks[o + 2 + j] & 15 : blocks[o + 2 + j - 16] >> 4;
      packed[b * 16 + (j >> 1)] |= j & 1 ? q << 4 : q;
    }
  }
  return { packed, scales, zeros, groupSize: 32 };
}
