import { readEffml, writeEffml } from '../formats/effml.js';
import { eieNetworkOf, toEieFile } from './eie-network.js';

/** Rewrites a compressed network's linear weights in EIE's form over `pes` PEs. */
export function convertToEie(input: string, output: string, pes: number): { layers: number; bytes: number } {
  const file = readEffml(input);
  const net = eieNetworkOf(file, input, pes);
  return { layers: net.layers.length, bytes: writeEffml(output, toEieFile(file, net)) };
}
