/**
 * Canonical Huffman coding of small alphabets (Deep Compression's last stage): code lengths from
 * the symbol counts, codes assigned in (length, symbol) order, so the lengths alone describe the code.
 */

/** Bit length of each symbol's code (0 for symbols that never occur). */
export function huffmanLengths(counts: ArrayLike<number>): Uint8Array {
  const n = counts.length;
  const lengths = new Uint8Array(n);
  const used = Array.from({ length: n }, (_, s) => s).filter((s) => counts[s] > 0);
  if (used.length === 1) lengths[used[0]] = 1;
  if (used.length <= 1) return lengths;
  // merge the two lightest subtrees until one is left; a tree node is [weight, symbols under it]
  let nodes: [number, number[]][] = used.map((s) => [counts[s], [s]]);
  while (nodes.length > 1) {
    nodes.sort((a, b) => b[0] - a[0] || b[1][0] - a[1][0]);
    const [a, b] = [nodes.pop()!, nodes.pop()!];
    for (const s of [...a[1], ...b[1]]) lengths[s]++;
    nodes = [...nodes, [a[0] + b[0], [...a[1], ...b[1]]]];
  }
  return lengths;
}

/** The canonical code of each symbol, MSB first, from the lengths. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const codes = new Uint32Array(lengths.length);
  const order = Array.from(lengths.keys())
    .filter((s) => lengths[s] > 0)
    .sort((a, b) => lengths[a] - lengths[b] || a - b);
  let code = 0;
  let len = order.length ? lengths[order[0]] : 0;
  for (const s of order) {
    code <<= lengths[s] - len;
    len = lengths[s];
    codes[s] = code++;
  }
  return codes;
}

export interface HuffmanStream {
  /** code length per symbol of the alphabet */
  lengths: Uint8Array;
  bits: number;
  /** the codes of every symbol, MSB first, padded to a whole byte */
  data: Uint8Array;
}

export function huffmanEncode(symbols: ArrayLike<number>, alphabetSize: number): HuffmanStream {
  const counts = new Float64Array(alphabetSize);
  for (let i = 0; i < symbols.length; i++) counts[symbols[i]]++;
  const lengths = huffmanLengths(counts);
  const codes = canonicalCodes(lengths);
  let bits = 0;
  for (let s = 0; s < alphabetSize; s++) bits += counts[s] * lengths[s];
  const data = new Uint8Array(Math.ceil(bits / 8));
  let at = 0;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i];
    for (let b = lengths[s] - 1; b >= 0; b--, at++)
      if ((codes[s] >>> b) & 1) data[at >> 3] |= 0x80 >> (at & 7);
  }
  return { lengths, bits, data };
}

/**
 * Decodes `count` symbols. Throws (with `what` in the message) when the lengths are not a prefix
 * code or the bits run out, so corrupt input fails cleanly.
 */
export function huffmanDecode(stream: HuffmanStream, count: number, what: string): Uint16Array {
  const { lengths, data, bits } = stream;
  const maxLen = Math.max(0, ...lengths);
  if (maxLen > 31) throw new RangeError(`${what}: code length ${maxLen} is over 31`);
  if (bits > data.length * 8) throw new RangeError(`${what}: ${bits} bits in ${data.length} bytes`);
  // per length: the first canonical code and the symbols of that length in order
  const firstCode = new Array<number>(maxLen + 2).fill(0);
  const byLength: number[][] = Array.from({ length: maxLen + 1 }, () => []);
  lengths.forEach((l, s) => l && byLength[l].push(s));
  let kraft = 0;
  for (let l = 1, code = 0; l <= maxLen; l++) {
    firstCode[l] = code;
    code = (code + byLength[l].length) << 1;
    kraft += byLength[l].length / 2 ** l;
  }
  if (kraft > 1 + 1e-12) throw new RangeError(`${what}: the code lengths do not form a prefix code`);
  const out = new Uint16Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    let code = 0;
    for (let l = 1; ; l++) {
      if (l > maxLen || at >= bits)
        throw new RangeError(`${what}: bit stream ends or is invalid at symbol ${i}`);
      code = (code << 1) | ((data[at >> 3] >> (7 - (at & 7))) & 1);
      at++;
      const k = code - firstCode[l];
      if (k >= 0 && k < byLength[l].length) {
        out[i] = byLength[l][k];
        break;
      }
    }
  }
  return out;
}
