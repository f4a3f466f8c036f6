/** The Llama-family architecture: one config for Llama 1/2/3, Mistral, Qwen2, SmolLM, TinyLlama and llama2.c models. */
import type { RopeStyle } from '../kernels/backend.js';
import { UserError } from '../errors.js';

/** Llama 3's RoPE frequency scaling (rope_scaling.rope_type = "llama3"). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

export interface LlamaConfig {
  architecture: string;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  normEps: number;
  ropeTheta: number;
  /** adjacent pairs (Meta / GGUF llama / llama2.c) or halves (Hugging Face, GGUF qwen2) */
  ropeStyle: RopeStyle;
  ropeScaling: Llama3RopeScaling | null;
  /** q / k / v projections have biases (Qwen2) */
  attentionBias: boolean;
  tiedEmbeddings: boolean;
}

export const SUPPORTED_ARCHITECTURES = ['llama', 'mistral', 'qwen2'];

export class ModelConfigError extends UserError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'ModelConfigError';
  }
}

/** Checks that the numbers describe a buildable model, naming the first that does not. */
export function validateConfig(path: string, c: LlamaConfig): LlamaConfig {
  const fail = (reason: string): never => {
    throw new ModelConfigError(path, reason);
  };
  if (!SUPPORTED_ARCHITECTURES.includes(c.architecture))
    fail(
      `architecture ${c.architecture} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  for (const key of [
    'dim',
    'hiddenDim',
    'nLayers',
    'nHeads',
    'nKvHeads',
    'headDim',
    'vocabSize',
    'contextLength',
  ] as const)
    if (!Number.isSafeInteger(c[key]) || c[key] <= 0) fail(`${key} = ${c[key]} is not a positive integer`);
  if (c.nHeads % c.nKvHeads !== 0) fail(`${c.nHeads} heads is not a multiple of ${c.nKvHeads} KV heads`);
  if (c.headDim % 2 !== 0) fail(`head dimension ${c.headDim} is odd`);
  if (!(c.normEps > 0) || !(c.ropeTheta > 0)) fail('norm epsilon and RoPE theta must be positive');
  return c;
}

/** RoPE inverse frequencies theta^(-2i / headDim), with Llama 3 scaling when configured. */
export function ropeFrequencies(c: LlamaConfig): Float32Array {
  const freqs = Float32Array.from(
    { length: c.headDim / 2 },
    (_, i) => 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim),
  );
  const s = c.ropeScaling;
  if (!s) return freqs;
  const lowWavelen = s.originalContextLength / s.lowFreqFactor;
  const highWavelen = s.originalContextLength / s.highFreqFactor;
  return freqs.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth =
      (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
