/** Writes a SentencePiece-style vocabulary in the forms other runtimes read: tokenizer.json and GGUF metadata. */
import { type GGUFValue, GGUFType } from '../formats/gguf.js';
import { HFTokenizer } from './hf-tokenizer.js';
import { SentencePieceBPE, type SentencePieceVocab, TokenType } from './sentencepiece-bpe.js';
import type { Tokenizer } from './tokenizer.js';
import { UserError } from '../errors.js';

const SPACE = '▁';

/**
 * A Hugging Face tokenizer.json equivalent to the SentencePiece BPE: every split of a token into
 * two tokens is a merge, ranked by the merged token's score (as transformers' LlamaConverter does),
 * byte fallback for the rest.
 */
export function sentencePieceTokenizerJson(v: SentencePieceVocab): object {
  const pieces = v.pieces.map((p, id) => (v.types[id] === TokenType.NORMAL ? p.replaceAll(' ', SPACE) : p));
  const vocab: Record<string, number> = {};
  pieces.forEach((p, id) => (vocab[p] ??= id));
  const merges: [string, number][] = [];
  pieces.forEach((p, id) => {
    if (v.types[id] !== TokenType.NORMAL) return;
    const chars = [...p];
    for (let k = 1; k < chars.length; k++) {
      const a = chars.slice(0, k).join('');
      const b = chars.slice(k).join('');
      if (a in vocab && b in vocab) merges.push([`${a} ${b}`, v.scores[id]]);
    }
  });
  merges.sort((x, y) => y[1] - x[1]);
  const special = pieces.flatMap((content, id) =>
    v.types[id] === TokenType.CONTROL ||
    v.types[id] === TokenType.UNKNOWN ||
    v.types[id] === TokenType.USER_DEFINED
      ? [
          {
            id,
            content,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: v.types[id] !== TokenType.USER_DEFINED,
          },
        ]
      : [],
  );
  const unk = pieces.findIndex((_, id) => v.types[id] === TokenType.UNKNOWN);
  return {
    version: '1.0',
    added_tokens: special,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(v.addSpacePrefix === false ? [] : [{ type: 'Prepend', prepend: SPACE }]),
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(v.addSpacePrefix === false ? [] : [{ type: 'Strip', content: ' ', start: 1, stop: 0 }]),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk >= 0 ? pieces[unk] : null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: merges.map(([m]) => m),
    },
  };
}

/** tokenizer_config.json for the same vocabulary. */
export function sentencePieceTokenizerConfig(v: SentencePieceVocab): object {
  return {
    add_bos_token: v.bos !== null,
    add_eos_token: false,
    bos_token: v.bos === null ? null : v.pieces[v.bos],
    eos_token: v.eos === null ? null : v.pieces[v.eos],
    ...(v.chatTemplate ? { chat_template: v.chatTemplate } : {}),
  };
}

/** The tokenizer.ggml.* metadata llama.cpp reads for a "llama" (SentencePiece) vocabulary. */
export function sentencePieceGGUFMetadata(v: SentencePieceVocab): [string, GGUFValue][] {
  const array = (itemType: GGUFType, items: (string | number)[]): GGUFValue => ({
    type: GGUFType.ARRAY,
    value: { itemType, items },
  });
  const entries: [string, GGUFValue][] = [
    ['tokenizer.ggml.model', { type: GGUFType.STRING, value: 'llama' }],
    [
      'tokenizer.ggml.tokens',
      array(
        GGUFType.STRING,
        v.pieces.map((p, id) => (v.types[id] === TokenType.NORMAL ? p.replaceAll(' ', SPACE) : p)),
      ),
    ],
    ['tokenizer.ggml.scores', array(GGUFType.FLOAT32, Array.from(v.scores))],
    ['tokenizer.ggml.token_type', array(GGUFType.INT32, Array.from(v.types))],
  ];
  if (v.bos !== null) entries.push(['tokenizer.ggml.bos_token_id', { type: GGUFType.UINT32, value: v.bos }]);
  if (v.eos !== null) entries.push(['tokenizer.ggml.eos_token_id', { type: GGUFType.UINT32, value: v.eos }]);
  if (v.chatTemplate)
    entries.push(['tokenizer.chat_template', { type: GGUFType.STRING, value: v.chatTemplate }]);
  return entries;
}

/** tokenizer.json and tokenizer_config.json for any tokenizer effml reads. */
export function tokenizerFiles(t: Tokenizer): { json: object; config: object } {
  if (t instanceof SentencePieceBPE)
    return { json: sentencePieceTokenizerJson(t.vocab), config: sentencePieceTokenizerConfig(t.vocab) };
  if (t instanceof HFTokenizer)
    return {
      json: t.tokenizerJson,
      config: { ...t.tokenizerConfig, ...(t.chatTemplate ? { chat_template: t.chatTemplate } : {}) },
    };
  throw new UserError('this tokenizer cannot be exported');
}
