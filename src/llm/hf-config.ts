/** A Hugging Face config.json for a Llama-family config (what load.ts reads back). */
import type { LlamaConfig } from './config.js';

const ARCHITECTURE_CLASS: Record<string, string> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
};

export function hfConfigJson(
  c: Omit<LlamaConfig, 'ropeStyle'>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const s = c.ropeScaling;
  return {
    architectures: [ARCHITECTURE_CLASS[c.architecture] ?? 'LlamaForCausalLM'],
    model_type: c.architecture,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.contextLength,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    ...(s
      ? {
          rope_scaling: {
            rope_type: 'llama3',
            factor: s.factor,
            low_freq_factor: s.lowFreqFactor,
            high_freq_factor: s.highFreqFactor,
            original_max_position_embeddings: s.originalContextLength,
          },
        }
      : {}),
    attention_bias: c.attentionBias,
    tie_word_embeddings: c.tiedEmbeddings,
    ...extra,
  };
}
