/** Hugging Face tokenizer.json (BPE, byte-level BPE, Unigram, WordPiece) through @huggingface/tokenizers. */
import { Tokenizer as HFTokenizerImpl } from '@huggingface/tokenizers';
import { type EncodeOptions, type StreamDecoder, type Tokenizer, TokenizerError } from './tokenizer.js';

export interface HFTokenizerOptions {
  bos: number | null;
  eos: number | null;
  stopIds?: number[];
  chatTemplate?: string | null;
}

export class HFTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly stopIds: ReadonlySet<number>;
  readonly chatTemplate: string | null;
  private readonly impl: HFTokenizerImpl;

  constructor(
    readonly tokenizerJson: object,
    readonly tokenizerConfig: Record<string, unknown>,
    options: HFTokenizerOptions,
  ) {
    try {
      this.impl = new HFTokenizerImpl(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new TokenizerError(`tokenizer.json could not be loaded: ${(err as Error).message}`);
    }
    this.vocabSize = this.impl.get_vocab(true).size;
    this.bos = options.bos;
    this.eos = options.eos;
    this.stopIds = new Set([...(options.eos !== null ? [options.eos] : []), ...(options.stopIds ?? [])]);
    this.chatTemplate = options.chatTemplate ?? null;
  }

  tokenId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  tokenText(id: number): string {
    return this.impl.id_to_token(id) ?? '';
  }

  /** Added (special) tokens in the text are always matched: the library has no switch for it. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    // The tokenizer's post-processor adds BOS where the model wants it; we add or drop it ourselves
    // so that `bos` means the same for every tokenizer.
    const ids = this.impl.encode(text, { add_special_tokens: false }).ids;
    return (options.bos ?? true) && this.bos !== null ? [this.bos, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    return this.impl.decode([...ids], { skip_special_tokens: true });
  }

  /**
   * Streams by decoding a short window of recent ids and releasing what it adds; text ending in
   * U+FFFD (an incomplete UTF-8 character) is held back until the next token completes it.
   */
  decoder(prev?: number): StreamDecoder {
    const window: number[] = prev === undefined ? [] : [prev];
    let emitted = prev === undefined ? '' : this.decode(window);
    return {
      push: (id: number) => {
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
          throw new TokenizerError(`token id ${id} outside the vocabulary (${this.vocabSize})`);
        window.push(id);
        const text = this.decode(window);
        if (text.endsWith('\uFFFD') || !text.startsWith(emitted)) return '';
        const out = text.slice(emitted.length);
        // keep a few tokens of context for decoders whose output depends on neighbours
        if (window.length > 8) {
          window.splice(0, window.length - 4);
          emitted = this.decode(window);
        } else emitted = text;
        return out;
      },
    };
  }
}
