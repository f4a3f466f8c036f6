// Memory layouts the kernels and the TypeScript side share, declared once. The exported ones are
// WebAssembly globals: the backend checks them against src/tensor/dtype.ts at startup, so the two
// cannot drift.

/** elements per block of q8_0, q4_0, q4_1 and of the kernels' q8 activations */
export const QK: i32 = 32;
export const QK_LOG2: i32 = 5;
/** block_q8_0 { f16 d; i8 qs[32]; }: its size, and where qs starts */
export const Q8_0_BYTES: usize = 34;
export const Q8_0_QS: usize = 2;
/** block_q4_0 { f16 d; u8 qs[16]; } */
export const Q4_0_BYTES: usize = 18;
export const Q4_0_QS: usize = 2;
/** block_q4_1 { f16 d; f16 m; u8 qs[16]; } */
export const Q4_1_BYTES: usize = 20;
export const Q4_1_QS: usize = 4;
/** one block of 32 f32 */
export const F32_BLOCK_BYTES: usize = 128;
/** one block of q8 activations: 32 q as i16 (ready for i32x4.dot_i16x8_s); its scale d is an f32 apart */
export const Q8_ACT_BLOCK_BYTES: usize = 64;
/** one block of 32 packed int4 columns */
export const INT4_BLOCK_BYTES: usize = 16;
/** EIE's per-thread scratch: 16 codebook weights scaled by the activation, 16 i32 byte steps */
export const EIE_SCRATCH_BYTES: usize = 128;
