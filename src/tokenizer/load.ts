/** Builds a Tokenizer from what a model file or folder carries. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GGUFFile } from '../formats/gguf.js';
import type { Llama2cTokenizerFile } from '../formats/llama2c.js';
import { HFTokenizer } from './hf-tokenizer.js';
import { SentencePieceBPE, TokenType } from './sentencepiece-bpe.js';
import { type Tokenizer, TokenizerError } from './tokenizer.js';

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * llama2.c tokenizer.bin: id 0 is <unk>, 1 BOS, 2 EOS by llama2.c's convention (stored as
 * "\n<s>\n" and "\n</s>\n" so that text never matches them; named <s> and </s> here).
 */
export function tokenizerFromLlama2c(file: Llama2cTokenizerFile): SentencePieceBPE {
  const pieces = file.pieces.map((_, id) => (id === 1 || id === 2 ? file.piece(id).trim() : file.piece(id)));
  const types = pieces.map((p, id) =>
    id === 0
      ? TokenType.UNKNOWN
      : id <= 2
        ? TokenType.CONTROL
        : BYTE_PIECE.test(p)
          ? TokenType.BYTE
          : TokenType.NORMAL,
  );
  return new SentencePieceBPE({ pieces, scores: file.scores, types, bos: 1, eos: 2 });
}

/** The tokenizer embedded in GGUF metadata (tokenizer.ggml.*). */
export function tokenizerFromGGUF(gguf: GGUFFile): Tokenizer {
  const model = gguf.get('tokenizer.ggml.model');
  const tokens = gguf.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens))
    throw new TokenizerError(`${gguf.path}: no tokenizer in the GGUF metadata (tokenizer.ggml.tokens)`);
  const id = (key: string) => {
    const v = gguf.get(`tokenizer.ggml.${key}`);
    return typeof v === 'number' && v >= 0 && v < tokens.length ? v : null;
  };
  const types =
    (gguf.get('tokenizer.ggml.token_type') as number[] | undefined) ?? tokens.map(() => TokenType.NORMAL);
  const chatTemplate = (gguf.get('tokenizer.chat_template') as string | undefined) ?? null;
  const stopIds = [id('eot_token_id'), id('eom_token_id')].filter((v): v is number => v !== null);
  if (model === 'llama') {
    const scores = (gguf.get('tokenizer.ggml.scores') as number[] | undefined) ?? tokens.map(() => 0);
    return new SentencePieceBPE({
      pieces: (tokens as string[]).map((t) => t.replaceAll('▁', ' ')),
      scores,
      types,
      bos: gguf.get('tokenizer.ggml.add_bos_token') === false ? null : id('bos_token_id'),
      eos: id('eos_token_id'),
      stopIds,
      chatTemplate,
      addSpacePrefix: gguf.get('tokenizer.ggml.add_space_prefix') !== false,
    });
  }
  if (model === 'gpt2') {
    const merges = gguf.get('tokenizer.ggml.merges');
    if (!Array.isArray(merges))
      throw new TokenizerError(`${gguf.path}: GPT-2 tokenizer without tokenizer.ggml.merges`);
    const json = byteLevelBpeJson(
      tokens as string[],
      merges as string[],
      types,
      String(gguf.get('tokenizer.ggml.pre') ?? 'default'),
    );
    return new HFTokenizer(
      json,
      {},
      {
        bos: gguf.get('tokenizer.ggml.add_bos_token') === true ? id('bos_token_id') : null,
        eos: id('eos_token_id'),
        stopIds,
        chatTemplate,
      },
    );
  }
  throw new TokenizerError(
    `${gguf.path}: tokenizer model ${String(model)} is not supported (supported: llama, gpt2)`,
  );
}

/**
 * Pre-tokenizer split patterns of the GPT-2-style vocabularies llama.cpp names in tokenizer.ggml.pre
 * (from their tokenizer.json files).
 */
const GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const SPLITS: Record<string, string[]> = {
  default: [GPT2_SPLIT],
  gpt2: [GPT2_SPLIT],
  qwen2: [QWEN2_SPLIT],
  llama3: [LLAMA3_SPLIT],
  'llama-bpe': [LLAMA3_SPLIT],
  smollm: [GPT2_SPLIT],
};

function byteLevelBpeJson(tokens: string[], merges: string[], types: number[], pre: string): object {
  const split = SPLITS[pre];
  if (!split)
    throw new TokenizerError(
      `GPT-2 pre-tokenizer "${pre}" is not supported (supported: ${Object.keys(SPLITS).join(', ')})`,
    );
  const digitSplit = pre === 'smollm' ? [{ type: 'Digits', individual_digits: true }] : [];
  return {
    model: {
      type: 'BPE',
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges,
      ignore_merges: pre === 'llama3' || pre === 'llama-bpe',
    },
    normalizer: null,
    post_processor: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...digitSplit,
        ...split.map((pattern) => ({
          type: 'Split',
          pattern: { Regex: pattern },
          behavior: 'Isolated',
          invert: false,
        })),
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    added_tokens: tokens
      .map((content, id) => ({
        id,
        content,
        special: types[id] === TokenType.CONTROL,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      }))
      .filter((_, id) => types[id] === TokenType.CONTROL || types[id] === TokenType.USER_DEFINED),
  };
}

/** A Hugging Face model folder: tokenizer.json plus tokenizer_config.json (BOS / EOS / chat template). */
export function tokenizerFromHF(dir: string, generationConfig: Record<string, unknown> = {}): Tokenizer {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) throw new TokenizerError(`${dir}: no tokenizer.json in the model folder`);
  const json = readJson(path);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath) : {};
  const impl = new HFTokenizer(json, config, { bos: null, eos: null });
  const tokenOf = (v: unknown): number | null => {
    const text =
      typeof v === 'string'
        ? v
        : typeof v === 'object' && v !== null
          ? (v as { content?: string }).content
          : undefined;
    return text === undefined ? null : (impl.tokenId(text) ?? null);
  };
  const addBos = config.add_bos_token === true;
  const eos = tokenOf(config.eos_token);
  const genEos = generationConfig.eos_token_id;
  const stopIds = (Array.isArray(genEos) ? genEos : typeof genEos === 'number' ? [genEos] : []).filter(
    (v): v is number => typeof v === 'number',
  );
  const template = config.chat_template;
  return new HFTokenizer(json, config, {
    bos: addBos ? tokenOf(config.bos_token) : null,
    eos,
    stopIds,
    chatTemplate: typeof template === 'string' ? template : null,
  });
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new TokenizerError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
