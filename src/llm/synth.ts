/**
 * Synthetic models: the exact shapes of real architectures with seeded random weights, so that
 * speed can be measured at real sizes without the real weights. Their text is gibberish, and
 * every file says so in its metadata.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../formats/atomic-write.js';
import { type GGUFValue, GGUFType, writeGGUF } from '../formats/gguf.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { LazyTensor, type NamedTensors } from '../formats/tensor-file.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import {
  sentencePieceGGUFMetadata,
  sentencePieceTokenizerConfig,
  sentencePieceTokenizerJson,
} from '../tokenizer/export.js';
import { type SentencePieceVocab, TokenType } from '../tokenizer/sentencepiece-bpe.js';
import type { LlamaConfig } from './config.js';
import { hfConfigJson } from './hf-config.js';
import { globalTensorName, layerTensorName } from './weights.js';
import { UserError } from '../errors.js';

type Shape = Omit<LlamaConfig, 'ropeStyle' | 'ropeScaling'>;

/** Shapes from each model's config.json on the Hugging Face Hub. */
export const SYNTH_PRESETS: Record<string, Shape> = {
  'smollm2-135m': {
    architecture: 'llama',
    dim: 576,
    hiddenDim: 1536,
    nLayers: 30,
    nHeads: 9,
    nKvHeads: 3,
    headDim: 64,
    vocabSize: 49152,
    contextLength: 8192,
    normEps: 1e-5,
    ropeTheta: 100000,
    attentionBias: false,
    tiedEmbeddings: true,
  },
  'qwen2.5-0.5b': {
    architecture: 'qwen2',
    dim: 896,
    hiddenDim: 4864,
    nLayers: 24,
    nHeads: 14,
    nKvHeads: 2,
    headDim: 64,
    vocabSize: 151936,
    contextLength: 32768,
    normEps: 1e-6,
    ropeTheta: 1000000,
    attentionBias: true,
    tiedEmbeddings: true,
  },
  'tinyllama-1.1b': {
    architecture: 'llama',
    dim: 2048,
    hiddenDim: 5632,
    nLayers: 22,
    nHeads: 32,
    nKvHeads: 4,
    headDim: 64,
    vocabSize: 32000,
    contextLength: 2048,
    normEps: 1e-5,
    ropeTheta: 10000,
    attentionBias: false,
    tiedEmbeddings: false,
  },
};

export type SynthDType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

export interface SynthOptions {
  like: string;
  format: 'gguf' | 'hf';
  dtype: SynthDType;
  /** a real vocabulary; padded with unused tokens up to the preset's vocabulary size */
  vocab: SentencePieceVocab;
  seed?: number;
  /** cap the context (the KV cache is allocated to it) */
  contextLength?: number;
  /** fewer layers than the preset (same shapes per layer), for quick experiments */
  layers?: number;
  onTensor?: (done: number, total: number) => void;
}

export interface SynthResult {
  path: string;
  shape: Shape;
  parameters: number;
  paddedTokens: number;
}

export function synthesize(out: string, o: SynthOptions): SynthResult {
  const preset = SYNTH_PRESETS[o.like];
  if (!preset)
    throw new UserError(`unknown model shape ${o.like} (known: ${Object.keys(SYNTH_PRESETS).join(', ')})`);
  if (o.format === 'hf' && (o.dtype === 'q8_0' || o.dtype === 'q4_0'))
    throw new UserError(
      `Hugging Face safetensors cannot hold ${o.dtype}; use --format gguf or --dtype f32 / f16`,
    );
  const shape: Shape = {
    ...preset,
    contextLength: Math.min(preset.contextLength, o.contextLength ?? Infinity),
    nLayers: Math.min(preset.nLayers, o.layers ?? Infinity),
  };
  const vocab = padVocab(o.vocab, shape.vocabSize);
  const scheme = o.format === 'gguf' ? 'gguf' : 'hf';
  const tensors = randomTensors(shape, scheme, o.dtype, o.seed ?? 0);
  let done = 0;
  const counted: NamedTensors = tensors.map(([name, t]) => [
    name,
    new LazyTensor(t.dtype, t.shape, () => {
      o.onTensor?.(++done, tensors.length);
      return t.make();
    }),
  ]);
  const parameters = tensors.reduce((s, [, t]) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  const description = `synthetic ${o.like}: real shapes, RANDOM weights (seed ${o.seed ?? 0}); text it generates is meaningless`;
  if (o.format === 'gguf') {
    writeGGUF(out, new Map(ggufMetadata(shape, vocab, description)), counted);
    return { path: out, shape, parameters, paddedTokens: shape.vocabSize - o.vocab.pieces.length };
  }
  mkdirSync(out, { recursive: true });
  writeSafetensors(join(out, 'model.safetensors'), counted, { format: 'pt', description });
  const json = (name: string, value: object) =>
    writeFileAtomic(join(out, name), (write) =>
      write(new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n')),
    );
  json(
    'config.json',
    hfConfigJson(
      { ...shape, ropeScaling: null },
      {
        bos_token_id: vocab.bos,
        eos_token_id: vocab.eos,
        torch_dtype: o.dtype === 'f16' ? 'float16' : 'float32',
        effml_note: description,
      },
    ),
  );
  json('generation_config.json', { bos_token_id: vocab.bos, eos_token_id: vocab.eos });
  json('tokenizer_config.json', sentencePieceTokenizerConfig(vocab));
  json('tokenizer.json', sentencePieceTokenizerJson(vocab));
  writeFileSync(join(out, 'README.md'), `# ${description}\n`);
  return { path: out, shape, parameters, paddedTokens: shape.vocabSize - o.vocab.pieces.length };
}

function padVocab(v: SentencePieceVocab, size: number): SentencePieceVocab {
  if (v.pieces.length > size)
    throw new UserError(`the vocabulary has ${v.pieces.length} tokens, more than the model's ${size}`);
  const extra = size - v.pieces.length;
  return {
    ...v,
    pieces: [...v.pieces, ...Array.from({ length: extra }, (_, i) => `<unused_${i}>`)],
    scores: [...Array.from(v.scores), ...new Array<number>(extra).fill(0)],
    types: [...Array.from(v.types), ...new Array<number>(extra).fill(TokenType.UNUSED)],
  };
}

interface PlannedTensor {
  dtype: DType;
  shape: number[];
  make: () => Tensor;
}

function randomTensors(
  c: Shape,
  scheme: 'gguf' | 'hf',
  dtype: SynthDType,
  seed: number,
): [string, PlannedTensor][] {
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const out: [string, PlannedTensor][] = [];
  let index = 0;
  // matrices get the chosen dtype (block types only where rows are whole blocks), vectors stay f32
  const add = (name: string, shape: number[], kind: 'matrix' | 'norm' | 'bias') => {
    const id = index++;
    const quantized = dtype === 'q8_0' || dtype === 'q4_0';
    const t: DType =
      kind !== 'matrix' ? 'f32' : quantized && shape[shape.length - 1] % 32 !== 0 ? 'f16' : dtype;
    const scale = kind === 'matrix' ? 1 / Math.sqrt(shape[shape.length - 1]) : 0.02;
    out.push([
      name,
      {
        dtype: t,
        shape,
        make: () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const values =
            kind === 'norm' ? new Float32Array(n).fill(1) : uniform(n, scale, seed * 1000003 + id);
          return Tensor.fromFloat32(shape, values).to(t);
        },
      },
    ]);
  };
  add(globalTensorName(scheme, 'embed'), [c.vocabSize, c.dim], 'matrix');
  for (let l = 0; l < c.nLayers; l++) {
    const name = (key: Parameters<typeof layerTensorName>[2]) => layerTensorName(scheme, l, key);
    add(name('attnNorm'), [c.dim], 'norm');
    add(name('wq'), [qDim, c.dim], 'matrix');
    add(name('wk'), [kvDim, c.dim], 'matrix');
    add(name('wv'), [kvDim, c.dim], 'matrix');
    if (c.attentionBias) {
      add(name('bq'), [qDim], 'bias');
      add(name('bk'), [kvDim], 'bias');
      add(name('bv'), [kvDim], 'bias');
    }
    add(name('wo'), [c.dim, qDim], 'matrix');
    add(name('ffnNorm'), [c.dim], 'norm');
    add(name('w1'), [c.hiddenDim, c.dim], 'matrix');
    add(name('w3'), [c.hiddenDim, c.dim], 'matrix');
    add(name('w2'), [c.dim, c.hiddenDim], 'matrix');
  }
  add(globalTensorName(scheme, 'finalNorm'), [c.dim], 'norm');
  if (!c.tiedEmbeddings) add(globalTensorName(scheme, 'output'), [c.vocabSize, c.dim], 'matrix');
  return out;
}

/** Uniform in [-scale·√3, scale·√3] (standard deviation `scale`), from a seeded xorshift generator. */
function uniform(n: number, scale: number, seed: number): Float32Array {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const out = new Float32Array(n);
  const a = scale * Math.sqrt(3) * (2 / 4294967296);
  const b = scale * Math.sqrt(3);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) * a - b;
  }
  return out;
}

function ggufMetadata(c: Shape, vocab: SentencePieceVocab, description: string): [string, GGUFValue][] {
  const u32 = (value: number): GGUFValue => ({ type: GGUFType.UINT32, value });
  const f32 = (value: number): GGUFValue => ({ type: GGUFType.FLOAT32, value });
  const str = (value: string): GGUFValue => ({ type: GGUFType.STRING, value });
  const a = c.architecture;
  return [
    ['general.architecture', str(a)],
    ['general.name', str(description.split(':')[0])],
    ['general.description', str(description)],
    [`${a}.context_length`, u32(c.contextLength)],
    [`${a}.embedding_length`, u32(c.dim)],
    [`${a}.block_count`, u32(c.nLayers)],
    [`${a}.feed_forward_length`, u32(c.hiddenDim)],
    [`${a}.attention.head_count`, u32(c.nHeads)],
    [`${a}.attention.head_count_kv`, u32(c.nKvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(c.normEps)],
    [`${a}.rope.freq_base`, f32(c.ropeTheta)],
    [`${a}.rope.dimension_count`, u32(c.headDim)],
    ...sentencePieceGGUFMetadata(vocab),
  ];
}
