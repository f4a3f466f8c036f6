/**
 * 4-bit packing: two values per byte along each row, the even column in the low nibble; an odd
 * row length leaves the last high nibble zero. Values of 2 or 3 bits are stored in 4-bit slots.
 */
export function packedRowBytes(cols: number): number {
  return Math.ceil(cols / 2);
}

export function packInt4(q: Uint8Array, rows: number, cols: number): Uint8Array {
  const rowBytes = packedRowBytes(cols);
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = q[r * cols + c];
      if (v > 15) throw new RangeError(`value ${v} does not fit 4 bits`);
      out[r * rowBytes + (c >> 1)] |= c & 1 ? v << 4 : v;
    }
  return out;
}

export function unpackInt4(packed: Uint8Array, rows: number, cols: number): Uint8Array {
  const rowBytes = packedRowBytes(cols);
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const b = packed[r * rowBytes + (c >> 1)];
      out[r * cols + c] = c & 1 ? b >> 4 : b & 15;
    }
  return out;
}
