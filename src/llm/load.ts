/** Opens a model from a GGUF file, a Hugging Face folder or a llama2.c checkpoint, with its tokenizer. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, type BackendName, createBackend } from '../kernels/index.js';
import { FormatError } from '../formats/errors.js';
import { type GGUFFile, readGGUF } from '../formats/gguf.js';
import { type Llama2cCheckpoint, readLlama2cCheckpoint, readLlama2cTokenizer } from '../formats/llama2c.js';
import { openSafetensors, resolveSafetensorsFolder } from '../formats/safetensors.js';
import { FileSource } from '../formats/source.js';
import type { TensorFile } from '../formats/tensor-file.js';
import { tokenizerFromGGUF, tokenizerFromHF, tokenizerFromLlama2c } from '../tokenizer/load.js';
import { type Tokenizer, TokenizerError } from '../tokenizer/tokenizer.js';
import { type LlamaConfig, ModelConfigError, validateConfig } from './config.js';
import { freeWeights } from './free-weights.js';
import { LlamaModel } from './model.js';
import { type NamingScheme, type StoredQuantization, loadWeights } from './weights.js';

/** stories260K, shipped inside the package so that examples work with no download. */
export const DEFAULT_MODEL = fileURLToPath(
  new URL('../../../models/stories260K/stories260K.gguf', import.meta.url),
);
/** Its 512-token vocabulary as a llama2.c tokenizer.bin (what `effml synth` pads by default). */
export const DEFAULT_VOCABULARY = fileURLToPath(
  new URL('../../../models/stories260K/tok512.bin', import.meta.url),
);

export interface LoadOptions {
  backend?: Backend | BackendName;
  threads?: number;
  /** llama2.c checkpoints: the tokenizer.bin (default: tokenizer.bin or tok<vocab>.bin beside the model) */
  tokenizer?: string;
  maxBatch?: number;
  /** called after each tensor is loaded */
  onProgress?: (done: number, total: number) => void;
}

/** Owns the weights it loaded and the model (dispose() frees both), and the backend when loadModel created it. */
export interface LoadedModel {
  path: string;
  format: 'gguf' | 'hf' | 'llama2c';
  config: LlamaConfig;
  model: LlamaModel;
  tokenizer: Tokenizer;
  backend: Backend;
  /**
   * Frees the model's run state and weights (as they are then: quantized in place included), and
   * the backend's worker threads when loadModel created the backend. Sessions and caches on the
   * model are their creators' to dispose first.
   */
  dispose(): void;
}

export async function loadModel(
  path: string = DEFAULT_MODEL,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  const ownBackend = typeof options.backend !== 'object';
  const backend =
    typeof options.backend === 'object'
      ? options.backend
      : await createBackend({ backend: options.backend, threads: options.threads });
  try {
    const opened = openModel(path, options);
    try {
      const weights = loadWeights(
        opened.file,
        opened.scheme,
        opened.config,
        backend,
        options.onProgress,
        opened.quantization,
      );
      let model: LlamaModel;
      try {
        model = new LlamaModel(opened.config, weights, backend, options.maxBatch);
      } catch (err) {
        freeWeights(backend, weights);
        throw err;
      }
      let disposed = false;
      return {
        path,
        format: opened.format,
        config: opened.config,
        model,
        tokenizer: opened.tokenizer,
        backend,
        dispose: () => {
          if (disposed) return;
          disposed = true;
          model.dispose();
          freeWeights(backend, weights);
          if (ownBackend) backend.dispose();
        },
      };
    } finally {
      opened.file.close();
    }
  } catch (err) {
    if (ownBackend) backend.dispose();
    throw err;
  }
}

interface OpenedModel {
  format: LoadedModel['format'];
  file: TensorFile;
  scheme: NamingScheme;
  config: LlamaConfig;
  tokenizer: Tokenizer;
  /** effml's int4 / W8A8 formats (src/quant/save.ts), AutoAWQ */
  quantization?: StoredQuantization;
}

function openModel(path: string, options: LoadOptions): OpenedModel {
  if (statSync(path).isDirectory()) return openHF(path);
  if (path.endsWith('.safetensors') || path.endsWith('.index.json')) return openHF(dirname(path));
  const probe = new FileSource(path);
  const isGGUF = probe.size >= 4 && new TextDecoder().decode(probe.read(0, 4)) === 'GGUF';
  probe.close();
  if (isGGUF) return openGGUF(readGGUF(path));
  return openLlama2c(readLlama2cCheckpoint(path), options.tokenizer);
}

function openGGUF(file: GGUFFile): OpenedModel {
  try {
    const arch = String(file.get('general.architecture'));
    const num = (key: string, fallback?: number): number => {
      const v = file.get(`${arch}.${key}`);
      if (typeof v === 'number') return v;
      if (fallback !== undefined) return fallback;
      throw new ModelConfigError(file.path, `GGUF metadata ${arch}.${key} is missing`);
    };
    const dim = num('embedding_length');
    const nHeads = num('attention.head_count');
    const tokens = file.get('tokenizer.ggml.tokens');
    const embed = file.tensors.find((t) => t.name === 'token_embd.weight');
    const config = validateConfig(file.path, {
      architecture: arch,
      dim,
      hiddenDim: num('feed_forward_length'),
      nLayers: num('block_count'),
      nHeads,
      nKvHeads: num('attention.head_count_kv', nHeads),
      headDim: num('attention.key_length', num('rope.dimension_count', dim / nHeads)),
      vocabSize: Array.isArray(tokens) ? tokens.length : (embed?.shape[0] ?? 0),
      contextLength: num('context_length'),
      normEps: num('attention.layer_norm_rms_epsilon', 1e-5),
      ropeTheta: num('rope.freq_base', 10000),
      // llama.cpp rotates adjacent pairs for llama (its converter permutes Q/K) and halves ("NEOX") for qwen2
      ropeStyle: arch === 'qwen2' ? 'halves' : 'adjacent',
      ropeScaling: null,
      attentionBias: file.tensors.some((t) => t.name === 'blk.0.attn_q.bias'),
      tiedEmbeddings: !file.tensors.some((t) => t.name === 'output.weight'),
    });
    if (file.tensors.some((t) => t.name === 'rope_freqs.weight'))
      throw new ModelConfigError(
        file.path,
        'GGUF with rope_freqs (Llama 3.1 RoPE scaling) is not supported yet; use the Hugging Face folder',
      );
    return { format: 'gguf', file, scheme: 'gguf', config, tokenizer: tokenizerFromGGUF(file) };
  } catch (err) {
    file.close();
    throw err;
  }
}

function openLlama2c(file: Llama2cCheckpoint, tokenizerPath?: string): OpenedModel {
  try {
    const c = file.config;
    const dir = dirname(file.path);
    const candidates = tokenizerPath
      ? [tokenizerPath]
      : [join(dir, 'tokenizer.bin'), join(dir, `tok${c.vocabSize}.bin`)];
    const found = candidates.find((p) => existsSync(p));
    if (!found)
      throw new TokenizerError(
        `${file.path}: llama2.c checkpoints carry no tokenizer; give one with --tokenizer (looked for ${candidates.map((p) => basename(p)).join(', ')})`,
      );
    const tokenizer = tokenizerFromLlama2c(readLlama2cTokenizer(found));
    if (tokenizer.vocabSize !== c.vocabSize)
      throw new TokenizerError(
        `${found}: ${tokenizer.vocabSize} tokens, but ${file.path} has a vocabulary of ${c.vocabSize}`,
      );
    const config = validateConfig(file.path, {
      architecture: 'llama',
      dim: c.dim,
      hiddenDim: c.hiddenDim,
      nLayers: c.nLayers,
      nHeads: c.nHeads,
      nKvHeads: c.nKvHeads,
      headDim: c.dim / c.nHeads,
      vocabSize: c.vocabSize,
      contextLength: c.seqLen,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeStyle: 'adjacent',
      ropeScaling: null,
      attentionBias: false,
      tiedEmbeddings: c.sharedClassifier,
    });
    return { format: 'llama2c', file, scheme: 'meta', config, tokenizer };
  } catch (err) {
    file.close();
    throw err;
  }
}

function openHF(dir: string): OpenedModel {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath))
    throw new ModelConfigError(dir, 'no config.json: not a Hugging Face model folder');
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelConfigError(configPath, `not valid JSON (${(err as Error).message})`);
  }
  const num = (key: string, fallback?: number): number => {
    const v = hf[key];
    if (typeof v === 'number') return v;
    if (fallback !== undefined) return fallback;
    throw new ModelConfigError(configPath, `${key} is missing`);
  };
  const modelType = String(hf.model_type ?? '');
  const dim = num('hidden_size');
  const nHeads = num('num_attention_heads');
  const scaling = hf.rope_scaling as Record<string, unknown> | null | undefined;
  const scalingType = scaling ? String(scaling.rope_type ?? scaling.type) : null;
  if (scaling && scalingType !== 'llama3' && scalingType !== 'default')
    throw new ModelConfigError(
      configPath,
      `rope_scaling type ${scalingType} is not supported (supported: llama3)`,
    );
  const config = validateConfig(configPath, {
    architecture: modelType,
    dim,
    hiddenDim: num('intermediate_size'),
    nLayers: num('num_hidden_layers'),
    nHeads,
    nKvHeads: num('num_key_value_heads', nHeads),
    headDim: num('head_dim', dim / nHeads),
    vocabSize: num('vocab_size'),
    contextLength: num('max_position_embeddings'),
    normEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeStyle: 'halves',
    ropeScaling:
      scaling && scalingType === 'llama3'
        ? {
            factor: Number(scaling.factor),
            lowFreqFactor: Number(scaling.low_freq_factor),
            highFreqFactor: Number(scaling.high_freq_factor),
            originalContextLength: Number(scaling.original_max_position_embeddings),
          }
        : null,
    attentionBias: modelType === 'qwen2' || hf.attention_bias === true,
    tiedEmbeddings: hf.tie_word_embeddings === true,
  });
  const generationPath = join(dir, 'generation_config.json');
  const generation = existsSync(generationPath)
    ? (JSON.parse(readFileSync(generationPath, 'utf8')) as Record<string, unknown>)
    : {};
  const tokenizer = tokenizerFromHF(dir, generation);
  const file: TensorFile = openSafetensors(resolveSafetensorsFolder(dir));
  const q = hf.quantization_config as Record<string, unknown> | undefined;
  const fail = (reason: string): never => {
    file.close();
    throw new ModelConfigError(configPath, reason);
  };
  const methods = ['effml-int4', 'effml-w8a8', 'awq'];
  if (q && !methods.includes(String(q.quant_method)))
    fail(`quantization ${String(q.quant_method)} is not supported (supported: ${methods.join(', ')})`);
  if (q?.quant_method === 'effml-w8a8' && !['token', 'tensor', 'static'].includes(String(q.act)))
    fail(`W8A8 activation quantization ${String(q.act)} is not token, tensor or static`);
  const gemm = String(q?.version ?? 'gemm').toLowerCase() === 'gemm';
  if (q?.quant_method === 'awq' && (Number(q.bits ?? q.w_bit) !== 4 || q.zero_point === false || !gemm))
    fail('AutoAWQ checkpoints are supported in the 4-bit GEMM layout with zero points');
  const quantization: StoredQuantization | undefined = q
    ? {
        format: q.quant_method as StoredQuantization['format'],
        groupSize: q.quant_method === 'effml-w8a8' ? 0 : Number(q.group_size ?? q.q_group_size),
        act: q.act as StoredQuantization['act'],
      }
    : undefined;
  if (quantization && !(Number.isInteger(quantization.groupSize) && quantization.groupSize >= 0))
    fail('quantization_config.group_size must be an integer >= 0 (0: per channel)');
  return { format: 'hf', file, scheme: 'hf', config, tokenizer, quantization };
}
