import type { Param } from './param.js';

/** Shape of one sample, batch dimension left out: [features] or [height, width, channels]. */
export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/**
 * One step of a network. forward keeps what backward needs (its input, masks); backward takes
 * ∂loss/∂output, writes the parameters' gradients and returns ∂loss/∂input (skipped with
 * needInputGrad = false, for the first layer).
 */
export interface Layer {
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  params(): Param[];
  forward(x: Float32Array, batch: number, training: boolean): Float32Array;
  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null;
  /** Frees its parameters and buffers in the backend; the layer cannot run after. */
  dispose(): void;
}
