/**
 * Sparse storage with relative indices (Deep Compression, Fig. 2): each stored entry keeps the
 * number of zeros before it (0 .. 2^bits - 1) and its codebook index; a run of zeros longer than the
 * width gets a filler entry whose codebook index is 0, the zero weight. Positions are in flat order;
 * at most one gap's width of zeros follows the last entry.
 */
export interface RelativeEntries {
  /** zeros skipped before each entry */
  gaps: Uint8Array;
  /** codebook index of each entry (0 only in fillers) */
  codes: Uint8Array;
}

/** `codes` per position: 0 = pruned, otherwise a codebook index. */
export function encodeRelative(codes: Uint8Array, bits: number): RelativeEntries {
  const maxGap = 2 ** bits - 1;
  const gaps: number[] = [];
  const out: number[] = [];
  let zeros = 0;
  for (const code of codes) {
    if (code === 0) {
      zeros++;
      continue;
    }
    while (zeros > maxGap) {
      gaps.push(maxGap);
      out.push(0);
      zeros -= maxGap + 1;
    }
    gaps.push(zeros);
    out.push(code);
    zeros = 0;
  }
  // trailing zeros are implicit up to one gap's width, so the size bounds the entry count and back
  for (; zeros > maxGap; zeros -= maxGap + 1) {
    gaps.push(maxGap);
    out.push(0);
  }
  return { gaps: Uint8Array.from(gaps), codes: Uint8Array.from(out) };
}

/** The codebook index of every position (length `size`); throws when the entries do not fit it. */
export function decodeRelative(e: RelativeEntries, size: number, bits: number): Uint8Array {
  const codes = new Uint8Array(size);
  let pos = -1;
  for (let i = 0; i < e.gaps.length; i++) {
    pos += e.gaps[i] + 1;
    if (pos >= size)
      throw new RangeError(`sparse entry ${i} lands at position ${pos}, past the ${size} weights`);
    codes[pos] = e.codes[i];
  }
  if (size - pos - 1 > 2 ** bits - 1)
    throw new RangeError(
      `${size - pos - 1} trailing zeros after the last sparse entry; at most ${2 ** bits - 1} can be implicit`,
    );
  return codes;
}
