/**
 * llama2.c files. The legacy checkpoint: 7 x i32 header (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier), then f32
 * weights grouped by kind over all layers: token embedding; attention norms; wq; wk; wv; wo; ffn
 * norms; w1; w2; w3; final norm; the legacy freq_cis table (skipped); the classifier if separate.
 * Tensors are named as in Meta's checkpoints (tok_embeddings.weight, layers.N.attention.wq.weight, ...).
 */
import { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { type ByteSource, openReader, openSource } from './source.js';
import type { TensorFile, TensorInfo } from './tensor-file.js';
import { UserError } from '../errors.js';

export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

const HEADER_BYTES = 28;
const VERSIONED_MAGIC = 0x616b3432; // "ak42": llama2.c's newer export versions

/** Every tensor of the checkpoint in file order, with its shape; `skip` marks the legacy freq_cis block. */
function layout(c: Llama2cConfig): { name: string; shape: number[]; skip?: boolean }[] {
  const headSize = c.dim / c.nHeads;
  const kvDim = (c.dim * c.nKvHeads) / c.nHeads;
  const perLayer = (kind: string, shape: number[]) =>
    Array.from({ length: c.nLayers }, (_, l) => ({ name: `layers.${l}.${kind}.weight`, shape }));
  return [
    { name: 'tok_embeddings.weight', shape: [c.vocabSize, c.dim] },
    ...perLayer('attention_norm', [c.dim]),
    ...perLayer('attention.wq', [c.dim, c.dim]),
    ...perLayer('attention.wk', [kvDim, c.dim]),
    ...perLayer('attention.wv', [kvDim, c.dim]),
    ...perLayer('attention.wo', [c.dim, c.dim]),
    ...perLayer('ffn_norm', [c.dim]),
    ...perLayer('feed_forward.w1', [c.hiddenDim, c.dim]),
    ...perLayer('feed_forward.w2', [c.dim, c.hiddenDim]),
    ...perLayer('feed_forward.w3', [c.hiddenDim, c.dim]),
    { name: 'norm.weight', shape: [c.dim] },
    { name: 'freq_cis', shape: [2, c.seqLen, headSize / 2], skip: true },
    ...(c.sharedClassifier ? [] : [{ name: 'output.weight', shape: [c.vocabSize, c.dim] }]),
  ];
}

function checkpointBytes(c: Llama2cConfig): number {
  const kvDim = (c.dim * c.nKvHeads) / c.nHeads;
  const perLayer = 2 * c.dim + 2 * c.dim * c.dim + 2 * c.dim * kvDim + 3 * c.dim * c.hiddenDim;
  const floats =
    c.vocabSize * c.dim * (c.sharedClassifier ? 1 : 2) +
    c.nLayers * perLayer +
    c.dim +
    c.seqLen * (c.dim / c.nHeads);
  return HEADER_BYTES + 4 * floats;
}

export class Llama2cCheckpoint implements TensorFile {
  readonly format = 'llama2c';
  readonly version = 0;
  readonly path: string;
  readonly config: Llama2cConfig;
  readonly tensors: TensorInfo[] = [];
  private readonly byName = new Map<string, TensorInfo>();

  constructor(private readonly source: ByteSource) {
    this.path = source.path;
    const fail = (reason: string): never => {
      throw new FormatError(source.path, reason);
    };
    if (source.size < HEADER_BYTES) fail(`too short for a llama2.c header (${source.size} bytes)`);
    const view = new DataView(source.read(0, HEADER_BYTES).buffer);
    const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
    if (h[0] === VERSIONED_MAGIC)
      fail('a versioned llama2.c export ("ak42" magic); only the legacy 7-int header is supported');
    const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = h;
    const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
    h.forEach((v, i) => {
      if (i === 5 ? v === 0 || v === -0x80000000 : v <= 0) fail(`header ${names[i]} = ${v} is invalid`);
    });
    if (dim % nHeads !== 0) fail(`dim ${dim} is not a multiple of n_heads ${nHeads}`);
    if (nHeads % nKvHeads !== 0) fail(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
    if ((dim / nHeads) % 2 !== 0) fail(`head size ${dim / nHeads} is odd`);
    this.config = {
      dim,
      hiddenDim,
      nLayers,
      nHeads,
      nKvHeads,
      vocabSize: Math.abs(vocab),
      seqLen,
      sharedClassifier: vocab > 0,
    };

    // The size is checked before the tensor table is built, so a corrupt n_layers allocates nothing.
    const expected = checkpointBytes(this.config);
    if (expected !== source.size)
      fail(
        `header (${h.join(', ')}) implies ${expected} bytes but the file has ${source.size}: not a llama2.c checkpoint, or truncated`,
      );
    let offset = HEADER_BYTES;
    for (const { name, shape, skip } of layout(this.config)) {
      const byteLength = shape.reduce((a, b) => a * b, 4);
      if (!skip) this.tensors.push({ name, type: 'F32', dtype: 'f32', shape, offset, byteLength });
      offset += byteLength;
    }
    this.byName = new Map(this.tensors.map((t) => [t.name, t]));
  }

  read(name: string, options: { shared?: boolean } = {}): Tensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.path, `no tensor named ${name}`);
    return Tensor.fromBytes(
      'f32',
      info.shape,
      this.source.read(info.offset, info.byteLength, options.shared),
    );
  }

  close(): void {
    this.source.close();
  }
}

export function readLlama2cCheckpoint(pathOrSource: string | ByteSource): Llama2cCheckpoint {
  return openReader(pathOrSource, (source) => new Llama2cCheckpoint(source));
}

/** Writes the legacy checkpoint; `tensors` must hold every tensor the config implies (any float dtype). */
export function writeLlama2cCheckpoint(
  path: string,
  config: Llama2cConfig,
  tensors: ReadonlyMap<string, Tensor>,
): void {
  const entries = layout(config);
  for (const { name, shape, skip } of entries) {
    if (skip) continue;
    const t = tensors.get(name);
    if (!t) throw new UserError(`llama2.c checkpoint needs tensor ${name}`);
    if (t.shape.join() !== shape.join())
      throw new UserError(`${name} has shape [${t.shape}], expected [${shape}]`);
  }
  writeFileAtomic(path, (write) => {
    const header = new Int32Array([
      config.dim,
      config.hiddenDim,
      config.nLayers,
      config.nHeads,
      config.nKvHeads,
      config.sharedClassifier ? config.vocabSize : -config.vocabSize,
      config.seqLen,
    ]);
    write(new Uint8Array(header.buffer));
    for (const { name, skip } of entries) {
      const values = skip ? freqCis(config) : (tensors.get(name) as Tensor).toFloat32();
      write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    }
  });
}

/**
 * The legacy RoPE table run.c skips: cos then sin of pos / 10000^(2i / head_size), rounded to f32
 * at each step as llama2.c's PyTorch export computes it.
 */
function freqCis(c: Llama2cConfig): Float32Array {
  const half = c.dim / c.nHeads / 2;
  const out = new Float32Array(2 * c.seqLen * half);
  const f32 = Math.fround;
  for (let pos = 0; pos < c.seqLen; pos++)
    for (let i = 0; i < half; i++) {
      const angle = f32(pos * f32(1 / f32(Math.pow(10000, f32(i / half)))));
      out[pos * half + i] = Math.cos(angle);
      out[c.seqLen * half + pos * half + i] = Math.sin(angle);
    }
  return out;
}

/**
 * llama2.c tokenizer.bin: i32 max_token_length, then per token f32 score, i32 length, bytes.
 * The file does not store the vocabulary size: tokens run to the end of the file.
 */
export class Llama2cTokenizerFile {
  readonly format = 'llama2c-tokenizer';
  constructor(
    readonly path: string,
    readonly maxTokenLength: number,
    readonly pieces: Uint8Array[],
    readonly scores: Float32Array,
  ) {}

  get vocabSize(): number {
    return this.pieces.length;
  }

  piece(id: number): string {
    return new TextDecoder().decode(this.pieces[id]);
  }
}

export function readLlama2cTokenizer(pathOrSource: string | ByteSource): Llama2cTokenizerFile {
  const source = openSource(pathOrSource);
  try {
    const fail = (reason: string): never => {
      throw new FormatError(source.path, reason);
    };
    if (source.size < 4) fail('too short for a llama2.c tokenizer');
    // The whole file is the vocabulary: it is read once, and every length is checked against it.
    const bytes = source.read(0, source.size);
    const view = new DataView(bytes.buffer);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0 || maxTokenLength > 1 << 16)
      fail(`max_token_length ${maxTokenLength} is invalid`);
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let pos = 4;
    while (pos < bytes.byteLength) {
      if (pos + 8 > bytes.byteLength) fail(`truncated: token ${pieces.length} header at byte ${pos}`);
      const score = view.getFloat32(pos, true);
      const len = view.getInt32(pos + 4, true);
      if (len < 0 || len > maxTokenLength || pos + 8 + len > bytes.byteLength)
        fail(
          `token ${pieces.length} at byte ${pos} has length ${len} (max_token_length ${maxTokenLength}, ${bytes.byteLength - pos - 8} bytes left)`,
        );
      if (!Number.isFinite(score)) fail(`token ${pieces.length} has a non-finite score`);
      pieces.push(bytes.slice(pos + 8, pos + 8 + len));
      scores.push(score);
      pos += 8 + len;
    }
    return new Llama2cTokenizerFile(source.path, maxTokenLength, pieces, Float32Array.from(scores));
  } finally {
    source.close();
  }
}

export function writeLlama2cTokenizer(
  path: string,
  maxTokenLength: number,
  pieces: readonly Uint8Array[],
  scores: ArrayLike<number>,
): void {
  writeFileAtomic(path, (write) => {
    write(new Uint8Array(new Int32Array([maxTokenLength]).buffer));
    pieces.forEach((piece, i) => {
      const head = new DataView(new ArrayBuffer(8));
      head.setFloat32(0, scores[i], true);
      head.setInt32(4, piece.byteLength, true);
      write(new Uint8Array(head.buffer));
      write(piece);
    });
  });
}
