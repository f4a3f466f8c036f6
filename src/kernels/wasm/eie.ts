// EIE (src/sparse/): the sparse matrix-vector product of a compressed layer.
import { EIE_SCRATCH_BYTES } from './layout';
import { at, ld, put } from './simd';

// EIE's leading non-zero detection: the indices and values of the non-zero a[j]; returns how many.
export function nonzeros_f32(a: usize, n: i32, idx: usize, val: usize): i32 {
  let m = 0;
  for (let j = 0; j < n; j++) {
    const v = at(a, j);
    if (v != 0) {
      store<i32>(idx + ((<usize>m) << 2), j);
      put(val, m, v);
      m++;
    }
  }
  return m;
}

// Where PE k's local rows start in acc: PEs before it own floor(rows / pes) rows each, plus one
// for each of them below rows % pes.
function eie_local(acc: usize, rows: i32, pes: i32, k: i32): usize {
  return acc + ((<usize>(k * (rows / pes) + min(k, rows % pes))) << 2);
}

// y += W a for PEs [k0, k1) of an EIE layer (see ../backend.ts, EieWeights). Each PE sums into its
// own run of `acc` (its local rows, contiguous, so threads never share a cache line), then adds them
// to its rows of y (row r·pes + k) at the end. Per non-zero activation the 16 shared weights are
// scaled by it once; each PE then walks its entries of that column: z zero rows skipped, v added.
// scratch (per thread, EIE_SCRATCH_BYTES): 16 scaled weights, then 16 byte steps.
export function eie_spmv(
  y: usize,
  idx: usize,
  val: usize,
  nnz: i32,
  pointers: usize,
  peStart: usize,
  entries: usize,
  codebook: usize,
  scratch: usize,
  acc: usize,
  rows: i32,
  cols: i32,
  pes: i32,
  k0: i32,
  k1: i32,
): void {
  const scaled = scratch;
  const step = scratch + (EIE_SCRATCH_BYTES >> 1);
  for (let z = 0; z < 16; z++) store<i32>(step + ((<usize>z) << 2), (z + 1) * 4);
  memory.fill(
    eie_local(acc, rows, pes, k0),
    0,
    eie_local(acc, rows, pes, k1) - eie_local(acc, rows, pes, k0),
  );
  for (let t = 0; t < nnz; t++) {
    const j = load<i32>(idx + ((<usize>t) << 2));
    const aj = f32x4.splat(at(val, t));
    for (let q = 0; q < 4; q++) v128.store(scaled + ((<usize>q) << 4), f32x4.mul(ld(codebook, q * 4), aj));
    for (let k = k0; k < k1; k++) {
      const ptr = pointers + ((<usize>(k * (cols + 1) + j)) << 2);
      const first = entries + <usize>load<u32>(peStart + ((<usize>k) << 2));
      const e1 = first + <usize>load<u32>(ptr, 4);
      let out = eie_local(acc, rows, pes, k) - 4;
      for (let e = first + <usize>load<u32>(ptr); e < e1; e++) {
        const b = <i32>load<u8>(e);
        out += <usize>load<i32>(step + ((<usize>(b >> 4)) << 2));
        store<f32>(out, load<f32>(out) + load<f32>(scaled + ((<usize>(b & 15)) << 2)));
      }
    }
  }
  for (let k = k0; k < k1; k++) {
    const sums = eie_local(acc, rows, pes, k);
    for (let r = 0, i = k; i < rows; r++, i += pes) put(y, i, at(y, i) + at(sums, r));
  }
}
