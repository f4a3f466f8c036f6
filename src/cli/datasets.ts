import { nn } from '../index.js';
import { positiveInt } from './model-options.js';

/** The `split` of the IDX folder `dir`, cut to its first `limit` images when that flag is given. */
export function loadSplit(
  dir: string,
  split: 'train' | 'test',
  flag: string,
  limit: string | undefined,
): nn.ImageDataset {
  const data = nn.loadIdxDataset(dir, split);
  const n = positiveInt(flag, limit);
  return n ? nn.takeFirst(data, n) : data;
}
