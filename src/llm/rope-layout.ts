/**
 * Meta / GGUF / llama2.c checkpoints rotate adjacent pairs (2i, 2i+1) of each head; Hugging Face
 * ones rotate halves (i, i + d/2), with the rows of wq and wk permuted to match. Within each head,
 * Meta row 2i + c becomes HF row c · d/2 + i.
 */
export function halvesRowOrder(heads: number, headDim: number): Int32Array {
  const order = new Int32Array(heads * headDim); // order[hfRow] = metaRow
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < headDim / 2; i++)
      for (let c = 0; c < 2; c++) order[h * headDim + c * (headDim / 2) + i] = h * headDim + 2 * i + c;
  return order;
}

/** The rows of a [rows, width] matrix in `order` (out row r = in row order[r]). */
export function permuteRows<T extends Float32Array | Uint8Array>(a: T, width: number, order: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  order.forEach((from, to) => out.set(a.subarray(from * width, (from + 1) * width), to * width));
  return out;
}
