/**
 * SentencePiece-style BPE as llama2.c's run.c encodes it (and llama.cpp's SPM tokenizer): a space
 * is prepended to non-empty text, the text is split into UTF-8 characters (bytes of characters
 * missing from the vocabulary become <0xXX> byte tokens), then the adjacent pair whose merge has
 * the highest score is merged, leftmost first among equals, until no pair merges. A heap keeps
 * that O(n log n) instead of run.c's O(n²), with the same result.
 */
import { type EncodeOptions, type StreamDecoder, type Tokenizer, TokenizerError } from './tokenizer.js';

export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePieceVocab {
  /** token text with spaces as ' ' (not '▁'); byte tokens as '<0xXX>' */
  pieces: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  bos: number | null;
  eos: number | null;
  /** extra ids that end generation besides EOS */
  stopIds?: number[];
  chatTemplate?: string | null;
  addSpacePrefix?: boolean;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export class SentencePieceBPE implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly stopIds: ReadonlySet<number>;
  readonly chatTemplate: string | null;
  private readonly pieces: string[];
  private readonly scores: ArrayLike<number>;
  private readonly types: ArrayLike<number>;
  private readonly lookup = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** decoded bytes of each token */
  private readonly tokenBytes: Uint8Array[];
  private readonly addSpacePrefix: boolean;

  constructor(readonly vocab: SentencePieceVocab) {
    const v = vocab;
    this.pieces = v.pieces;
    this.scores = v.scores;
    this.types = v.types;
    this.vocabSize = v.pieces.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.stopIds = new Set([...(v.eos !== null ? [v.eos] : []), ...(v.stopIds ?? [])]);
    this.chatTemplate = v.chatTemplate ?? null;
    this.addSpacePrefix = v.addSpacePrefix ?? true;
    const encoder = new TextEncoder();
    this.tokenBytes = v.pieces.map((piece, id) => {
      const byte = v.types[id] === TokenType.BYTE ? BYTE_PIECE.exec(piece) : null;
      if (byte) {
        const b = parseInt(byte[1], 16);
        if (this.byteIds[b] < 0) this.byteIds[b] = id;
        return new Uint8Array([b]);
      }
      if (v.types[id] === TokenType.NORMAL || v.types[id] === TokenType.USER_DEFINED) {
        if (!this.lookup.has(piece)) this.lookup.set(piece, id);
        return encoder.encode(piece);
      }
      return new Uint8Array(0); // control / unknown / unused tokens print nothing
    });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if ((options.bos ?? true) && this.bos !== null) out.push(this.bos);
    if (!options.special) return out.concat(this.encodeText(text, true));
    // As llama.cpp: control tokens split the text, and text after one gets the space prefix again.
    let prevSpecial = true;
    for (const part of this.splitSpecial(text)) {
      if (typeof part === 'number') out.push(part);
      else for (const id of this.encodeText(part, prevSpecial)) out.push(id);
      prevSpecial = typeof part === 'number';
    }
    return out;
  }

  private specialPattern: RegExp | null | undefined;

  private splitSpecial(text: string): (string | number)[] {
    if (this.specialPattern === undefined) {
      const specials = this.pieces
        .filter(
          (p, id) =>
            (this.types[id] === TokenType.CONTROL || this.types[id] === TokenType.USER_DEFINED) &&
            p.length > 0,
        )
        .sort((a, b) => b.length - a.length)
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.specialPattern = specials.length ? new RegExp(`(${specials.join('|')})`) : null;
    }
    if (!this.specialPattern) return [text];
    return text
      .split(this.specialPattern)
      .map((part, i) => (i % 2 === 1 ? this.pieces.indexOf(part) : part))
      .filter((part) => part !== '');
  }

  private encodeText(text: string, spacePrefix: boolean): number[] {
    if (text === '') return [];
    const symbols: string[] = [];
    const ids: number[] = [];
    for (const ch of (this.addSpacePrefix && spacePrefix ? ' ' : '') + text) {
      const id = this.lookup.get(ch);
      if (id !== undefined) {
        symbols.push(ch);
        ids.push(id);
        continue;
      }
      for (const b of new TextEncoder().encode(ch)) {
        const byteId = this.byteIds[b];
        if (byteId < 0)
          throw new TokenizerError(
            `the vocabulary has no token for byte 0x${b.toString(16)} (in ${JSON.stringify(ch)})`,
          );
        symbols.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
        ids.push(byteId);
      }
    }
    return this.merge(symbols, ids);
  }

  /** The BPE merge loop over a doubly linked list of symbols, best pair from a heap. */
  private merge(symbols: string[], ids: number[]): number[] {
    const n = symbols.length;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const version = new Int32Array(n);
    const heap = new PairHeap();
    const consider = (left: number) => {
      const right = next[left];
      if (right < 0) return;
      const id = this.lookup.get(symbols[left] + symbols[right]);
      if (id !== undefined)
        heap.push({ score: this.scores[id], left, right, id, lv: version[left], rv: version[right] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let pair = heap.pop(); pair; pair = heap.pop()) {
      const { left, right } = pair;
      if (version[left] !== pair.lv || version[right] !== pair.rv || next[left] !== right) continue; // stale
      symbols[left] += symbols[right];
      ids[left] = pair.id;
      version[left]++;
      version[right] = -1; // removed
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) consider(prev[left]);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
    return out;
  }

  decode(ids: readonly number[]): string {
    const d = this.decoder();
    return ids.map((id) => d.push(id)).join('');
  }

  /** `prev`: the token before the first one pushed, if any (decides the dummy-prefix rule). */
  decoder(prev = -1): StreamDecoder {
    const utf8 = new TextDecoder('utf-8');
    return {
      push: (id: number) => {
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
          throw new TokenizerError(`token id ${id} outside the vocabulary (${this.vocabSize})`);
        let bytes = this.tokenBytes[id];
        // SentencePiece's dummy prefix: the space that starts the text after BOS is not printed (as run.c)
        if (prev === this.bos && this.addSpacePrefix && bytes[0] === 0x20) bytes = bytes.subarray(1);
        prev = id;
        return utf8.decode(bytes, { stream: true });
      },
    };
  }

  tokenText(id: number): string {
    return this.pieces[id] ?? '';
  }

  typeOf(id: number): number {
    return this.types[id];
  }
}

interface Pair {
  score: number;
  left: number;
  right: number;
  id: number;
  lv: number;
  rv: number;
}

/** Max-heap on score, then min on the left symbol's position (run.c's leftmost-first tie-break). */
class PairHeap {
  private items: Pair[] = [];

  private before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(p: Pair): void {
    const h = this.items;
    h.push(p);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  pop(): Pair | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l], h[best])) best = l;
        if (r < h.length && this.before(h[r], h[best])) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best], h[i]];
        i = best;
      }
    }
    return top;
  }
}
