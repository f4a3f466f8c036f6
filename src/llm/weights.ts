/**
 * Loads a model's weights from any TensorFile into f32 arrays of the compute backend, by the
 * naming scheme of the file's format. Quantized and half-precision weights are dequantized on load.
 */
import type { Backend } from '../kernels/backend.js';
import { FormatError } from '../formats/errors.js';
import type { TensorFile } from '../formats/tensor-file.js';
import { DTYPES } from '../tensor/dtype.js';
import type { LlamaConfig } from './config.js';

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  bq: Float32Array | null;
  bk: Float32Array | null;
  bv: Float32Array | null;
  ffnNorm: Float32Array;
  /** gate */
  w1: Float32Array;
  /** down */
  w2: Float32Array;
  /** up */
  w3: Float32Array;
}

export interface LlamaWeights {
  embed: Float32Array;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  /** the classifier; the embedding itself when tied */
  output: Float32Array;
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
): LlamaWeights {
  const infos = new Map(file.tensors.map((t) => [t.name, t]));
  const kvDim = c.nKvHeads * c.headDim;
  const qDim = c.nHeads * c.headDim;
  const perLayer = c.attentionBias ? 12 : 9;
  const total = 2 + c.nLayers * perLayer + (c.tiedEmbeddings ? 0 : 1);
  let done = 0;

  const load = (name: string, shape: number[]): Float32Array => {
    const info = infos.get(name);
    if (!info) throw new FormatError(file.path, `missing tensor ${name}`);
    if (info.shape.join() !== shape.join())
      throw new FormatError(
        file.path,
        `tensor ${name} has shape [${info.shape.join(', ')}], the config implies [${shape.join(', ')}]`,
      );
    const t = file.read(name);
    const n = shape.reduce((a, b) => a * b, 1);
    const out = backend.allocF32(n);
    if (t.dtype === 'f32') out.set(t.data as Float32Array);
    else if (DTYPES[t.dtype].blockSize > 1 || t.dtype === 'f16' || t.dtype === 'bf16')
      backend.dequantize(out, t.data as Uint8Array | Uint16Array, t.dtype, n);
    else out.set(t.toFloat32());
    onTensor(++done, total);
    return out;
  };
  const names = GLOBAL_NAMES[scheme];
  const embed = load(names.embed, [c.vocabSize, c.dim]);
  const layers = Array.from({ length: c.nLayers }, (_, l): LayerWeights => {
    const get = (key: LayerKey, shape: number[]) => load(layerTensorName(scheme, l, key), shape);
    return {
      attnNorm: get('attnNorm', [c.dim]),
      wq: get('wq', [qDim, c.dim]),
      wk: get('wk', [kvDim, c.dim]),
      wv: get('wv', [kvDim, c.dim]),
      wo: get('wo', [c.dim, qDim]),
      bq: c.attentionBias ? get('bq', [qDim]) : null,
      bk: c.attentionBias ? get('bk', [kvDim]) : null,
      bv: c.attentionBias ? get('bv', [kvDim]) : null,
      ffnNorm: get('ffnNorm', [c.dim]),
      w1: get('w1', [c.hiddenDim, c.dim]),
      w2: get('w2', [c.dim, c.hiddenDim]),
      w3: get('w3', [c.hiddenDim, c.dim]),
    };
  });
  const finalNorm = load(names.finalNorm, [c.dim]);
  const output = c.tiedEmbeddings ? embed : load(names.output, [c.vocabSize, c.dim]);
  return { embed, layers, finalNorm, output };
}
