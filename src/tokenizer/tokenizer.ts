import { UserError } from '../errors.js';
/** One interface for every tokenizer effml reads: SentencePiece-style BPE (llama2.c, GGUF "llama") and Hugging Face tokenizer.json. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  /** ids that end a generation (EOS and, for chat models, end-of-turn tokens) */
  readonly stopIds: ReadonlySet<number>;
  /** the model's chat template (Jinja), if it has one */
  readonly chatTemplate: string | null;
  /**
   * Token ids of `text`; `bos` prepends the BOS token when the model has one (default true);
   * `special` turns the text of control tokens (e.g. "<|im_start|>" in a rendered chat template)
   * into those tokens (default false: all text is text).
   */
  encode(text: string, options?: EncodeOptions): number[];
  /** The token as the vocabulary stores it (e.g. "<s>"). */
  tokenText(id: number): string;
  decode(ids: readonly number[]): string;
  /** A decoder for streaming after token `prev` (if any): text is released once its UTF-8 bytes are complete. */
  decoder(prev?: number): StreamDecoder;
}

export interface EncodeOptions {
  bos?: boolean;
  special?: boolean;
}

export interface StreamDecoder {
  /** The text that `id` completes (may be empty while a multi-byte character is incomplete). */
  push(id: number): string;
}

export class TokenizerError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
