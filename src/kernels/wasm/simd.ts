// Helpers every kernel file uses. No @inline decorators: Prettier and tsc cannot parse decorators on
// functions, and Binaryen (-O3) inlines these small ones by itself; inline.always marks the calls
// it would not inline (checked with wasm-dis).

/** the sum of the four lanes */
export function hsum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3)
  );
}

/** four f32 from p[i] */
export function ld(p: usize, i: i32): v128 {
  return v128.load(p + ((<usize>i) << 2));
}

export function at(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}

export function put(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}

// sum a[i] * b[i], i < k
export function dot_f32(a: usize, b: usize, k: i32): f32 {
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    s2 = f32x4.splat(0),
    s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= k; i += 16) {
    s0 = f32x4.add(s0, f32x4.mul(ld(a, i), ld(b, i)));
    s1 = f32x4.add(s1, f32x4.mul(ld(a, i + 4), ld(b, i + 4)));
    s2 = f32x4.add(s2, f32x4.mul(ld(a, i + 8), ld(b, i + 8)));
    s3 = f32x4.add(s3, f32x4.mul(ld(a, i + 12), ld(b, i + 12)));
  }
  for (; i + 4 <= k; i += 4) s0 = f32x4.add(s0, f32x4.mul(ld(a, i), ld(b, i)));
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < k; i++) s += at(a, i) * at(b, i);
  return s;
}

export function f16_to_f32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) {
    const v = <f32>mant * <f32>5.9604644775390625e-8;
    return sign ? -v : v;
  }
  if (exp == 31) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13));
  return reinterpret<f32>(sign | ((exp + 112) << 23) | (mant << 13));
}

/** max |p[i]|, i < n */
export function absmax_f32(p: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, f32x4.abs(ld(p, i)));
  let r = Mathf.max(
    Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
    Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)),
  );
  for (; i < n; i++) r = Mathf.max(r, Mathf.abs(at(p, i)));
  return r;
}
