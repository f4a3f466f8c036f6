/** The matrices the EIE simulator runs on: random layers, and the linear layers of a compressed file. */
import type { Random } from '../tensor/random.js';
import { type SharedMatrix, eieCodes, shareForEie } from './eie-layer.js';
import { loadEieNetwork } from './eie-network.js';
import { UserError } from '../errors.js';

const MAX_WEIGHTS = 2 ** 28;

/** rows x cols random normal weights, the `density` largest kept and shared (shareForEie). */
export function randomSharedMatrix(
  rows: number,
  cols: number,
  density: number,
  random: Random,
): SharedMatrix {
  if (rows * cols > MAX_WEIGHTS) throw new UserError(`a ${rows}x${cols} layer has more than 2^28 weights`);
  const w = Float32Array.from({ length: rows * cols }, () => random.normal());
  return shareForEie(w, rows, cols, density);
}

/** The linear layer `name` of a compressed network file, as its codebook indices. */
export function sharedMatrixOfFile(path: string, name: string): SharedMatrix {
  const net = loadEieNetwork(path, 1);
  const k = net.names.indexOf(name);
  if (k < 0) throw new UserError(`${path} has no linear layer ${name} (layers: ${net.names.join(', ')})`);
  return eieCodes(net.layers[k]);
}
