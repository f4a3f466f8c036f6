/**
 * stories260K rewritten as a Hugging Face model folder: Q/K rows permuted to the rotate-half
 * layout as transformers' convert_llama_weights_to_hf.py does, HF tensor names, config.json, and the
 * tokenizer.json effml exports for a SentencePiece vocabulary.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLlama2cCheckpoint, readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { writeSafetensors, writeSafetensorsSharded } from '../../src/formats/safetensors.js';
import { globalTensorName, layerTensorName } from '../../src/llm/weights.js';
import { halvesRowOrder, permuteRows } from '../../src/llm/rope-layout.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { sentencePieceTokenizerConfig, sentencePieceTokenizerJson } from '../../src/tokenizer/export.js';
import { tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import { STORIES } from '../helpers.js';

/** Meta row 2i + c of each head moves to row c · headDim/2 + i (pairs become halves). */
export function permuteToHalves(w: Tensor, heads: number): Tensor {
  const [rows, cols] = w.shape;
  return Tensor.fromFloat32(
    [rows, cols],
    permuteRows(w.toFloat32(), cols, halvesRowOrder(heads, rows / heads)),
  );
}

export function writeStoriesAsHF(dir: string, options: { shardBytes?: number } = {}): void {
  const ckpt = readLlama2cCheckpoint(join(STORIES, 'stories260K.bin'));
  const c = ckpt.config;
  const tensors: [string, Tensor][] = [[globalTensorName('hf', 'embed'), ckpt.read('tok_embeddings.weight')]];
  const meta = {
    attnNorm: 'attention_norm',
    wq: 'attention.wq',
    wk: 'attention.wk',
    wv: 'attention.wv',
    wo: 'attention.wo',
    ffnNorm: 'ffn_norm',
    w1: 'feed_forward.w1',
    w2: 'feed_forward.w2',
    w3: 'feed_forward.w3',
  } as const;
  for (let l = 0; l < c.nLayers; l++)
    for (const [key, name] of Object.entries(meta)) {
      let t = ckpt.read(`layers.${l}.${name}.weight`);
      if (key === 'wq') t = permuteToHalves(t, c.nHeads);
      if (key === 'wk') t = permuteToHalves(t, c.nKvHeads);
      tensors.push([layerTensorName('hf', l, key as keyof typeof meta), t]);
    }
  tensors.push([globalTensorName('hf', 'finalNorm'), ckpt.read('norm.weight')]);
  ckpt.close();
  if (options.shardBytes) writeSafetensorsSharded(dir, tensors, options.shardBytes, { format: 'pt' });
  else writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });

  const json = (name: string, value: unknown) =>
    writeFileSync(join(dir, name), JSON.stringify(value, null, 1));
  json('config.json', {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  });
  json('generation_config.json', { bos_token_id: 1, eos_token_id: 2 });
  const vocab = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin'))).vocab;
  json('tokenizer_config.json', sentencePieceTokenizerConfig(vocab));
  json('tokenizer.json', sentencePieceTokenizerJson(vocab));
}
