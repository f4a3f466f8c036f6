// effml's WASM SIMD kernels (AssemblyScript, compiled to build/kernels.wasm): the entry file, whose
// exports are the module's. Every pointer is a byte address in the shared memory the JS side
// allocates from; every kernel has its definition in ../reference.ts and its description (named
// arguments, how threads split it) in ../ops.ts, checked against this module at startup.
export { QK, Q8_0_BYTES, Q4_0_BYTES, Q4_1_BYTES, EIE_SCRATCH_BYTES } from './layout';
export { matvec_f32, matvec_stream_f32, matmul_f32, stream_sum_f32 } from './f32';
export { quantize_q8, quantize_q8_sums, round_trip_q8, matmul_q8_0_q8, matmul_tiled_q8_0_f32 } from './q8';
export { matmul_int4_f32, matmul_int4_q8, matmul_tiled_int4_f32 } from './int4';
export { quantize_i8_per_token, quantize_i8_per_tensor, quantize_i8_static, matmul_i8_i8 } from './int8';
export { rmsnorm_f32, silu_f32, add_f32, mul_f32, rope_f32, attention_f32 } from './transformer';
export {
  dequantize_f16,
  dequantize_bf16,
  dequantize_q8_0,
  dequantize_q4_0,
  dequantize_q4_1,
} from './dequantize';
export { transpose_f32, im2col_f32, col2im_f32 } from './nn';
export { nonzeros_f32, eie_spmv } from './eie';
