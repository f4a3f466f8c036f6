import type { Backend } from '../kernels/backend.js';
import { Random } from '../tensor/random.js';
import { Conv2d } from './conv2d.js';
import { Dropout, Flatten, ReLU } from './elementwise.js';
import { type Layer, type Shape, sizeOf } from './layer.js';
import { Linear } from './linear.js';
import type { Param } from './param.js';
import { MaxPool2d } from './pool.js';
import { UserError } from '../errors.js';

/** A network as data: what the .effml file stores and what builds the layers. */
export interface NetworkSpec {
  name: string;
  /** one sample: [features] or [height, width, channels] */
  input: number[];
  layers: LayerSpec[];
}

export type LayerSpec =
  | { type: 'linear'; name: string; out: number }
  | { type: 'conv2d'; name: string; out: number; kernel: number; stride?: number; pad?: number }
  | { type: 'maxpool2d'; kernel: number; stride?: number }
  | { type: 'relu' }
  | { type: 'dropout'; p: number }
  | { type: 'flatten' };

/**
 * Layers applied in order; backward runs them in reverse (reverse-mode differentiation of the
 * chain). The network owns its layers (parameters and buffers in the backend): dispose() frees them.
 */
export class Sequential {
  readonly layers: Layer[];

  constructor(
    readonly spec: NetworkSpec,
    readonly backend: Backend,
    seed = 0,
  ) {
    checkSpec(spec);
    const random = new Random(seed);
    let shape: Shape = spec.input;
    this.layers = spec.layers.map((l, i) => {
      const layer = buildLayer(l, i, shape, backend, random);
      shape = layer.outShape;
      return layer;
    });
  }

  get inputSize(): number {
    return sizeOf(this.spec.input);
  }

  get outputSize(): number {
    return sizeOf(this.layers[this.layers.length - 1].outShape);
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  /** The weight matrices and kernels, by layer name (what pruning and weight sharing act on). */
  weights(): Param[] {
    return this.params().filter((p) => p.isWeight);
  }

  param(name: string): Param {
    const p = this.params().find((q) => q.name === name);
    if (!p) throw new RangeError(`${this.spec.name} has no parameter ${name}`);
    return p;
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }

  forward(x: Float32Array, batch: number, training = false): Float32Array {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, batch, training);
    return h;
  }

  backward(dLogits: Float32Array, batch: number): void {
    let g: Float32Array | null = dLogits;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) g = this.layers[i].backward(g, batch, i > 0);
  }
}

const LIMIT = 1 << 24;

/** Rejects specs that would build something absurd (a spec may come from a file). */
function checkSpec(spec: NetworkSpec): void {
  const dim = (v: unknown, what: string, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > LIMIT)
      throw new UserError(
        `${spec.name}: ${what} must be an integer in ${min}..${LIMIT}, got ${JSON.stringify(v)}`,
      );
  };
  if (!Array.isArray(spec.input) || spec.input.length === 0)
    throw new UserError('network input shape is missing');
  spec.input.forEach((d) => dim(d, 'input dimension'));
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw new UserError('network has no layers');
  for (const l of spec.layers) {
    if ('out' in l) dim(l.out, `${l.type} out`);
    if ('kernel' in l) dim(l.kernel, `${l.type} kernel`);
    if ('stride' in l && l.stride !== undefined) dim(l.stride, `${l.type} stride`);
    if ('pad' in l && l.pad !== undefined) dim(l.pad, `${l.type} pad`, 0);
  }
}

function buildLayer(l: LayerSpec, i: number, shape: Shape, backend: Backend, random: Random): Layer {
  const name = 'name' in l ? l.name : `${l.type}${i}`;
  switch (l.type) {
    case 'linear':
      return new Linear(name, shape, l.out, backend, random);
    case 'conv2d':
      return new Conv2d(name, shape, l.out, l.kernel, l.stride ?? 1, l.pad ?? 0, backend, random);
    case 'maxpool2d':
      return new MaxPool2d(name, shape, l.kernel, l.stride ?? l.kernel, backend);
    case 'relu':
      return new ReLU(name, shape, backend);
    case 'dropout':
      return new Dropout(name, shape, l.p, random, backend);
    case 'flatten':
      return new Flatten(name, shape);
  }
  throw new UserError(`unknown layer type ${JSON.stringify((l as { type: unknown }).type)}`);
}
