import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../formats/errors.js';
import { readIdx } from '../formats/idx.js';

/** Labelled images, pixels scaled to [0, 1], channels-last. */
export interface ImageDataset {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** one image: [height, width, channels] */
  shape: [number, number, number];
}

/** The MNIST / Fashion-MNIST file names (plain or .gz) of each split. */
const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function findFile(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new FormatError(dir, `no ${base} or ${base}.gz here (MNIST / Fashion-MNIST IDX files expected)`);
}

/** One split of an MNIST-style folder of IDX files. */
export function loadIdxDataset(dir: string, split: 'train' | 'test'): ImageDataset {
  const [imagesPath, labelsPath] = FILES[split].map((f) => findFile(dir, f));
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dtype !== 'u8' || images.shape.length !== 3)
    throw new FormatError(
      imagesPath,
      `expected u8 images [count, height, width], got ${images.dtype} [${images.shape}]`,
    );
  if (labels.dtype !== 'u8' || labels.shape.length !== 1)
    throw new FormatError(labelsPath, `expected u8 labels [count], got ${labels.dtype} [${labels.shape}]`);
  const [count, h, w] = images.shape;
  if (labels.shape[0] !== count)
    throw new FormatError(labelsPath, `${labels.shape[0]} labels for ${count} images in ${imagesPath}`);
  const pixels = images.data as Uint8Array;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return { images: out, labels: Uint8Array.from(labels.data as Uint8Array), count, shape: [h, w, 1] };
}

/** The first n examples (for quick runs and tests). */
export function takeFirst(data: ImageDataset, n: number): ImageDataset {
  const count = Math.min(n, data.count);
  const size = data.shape[0] * data.shape[1] * data.shape[2];
  return {
    images: data.images.subarray(0, count * size),
    labels: data.labels.subarray(0, count),
    count,
    shape: data.shape,
  };
}
