import type { Param } from './param.js';

export interface Optimizer {
  /** One update of every parameter from its gradient, at learning rate lr. */
  step(lr: number): void;
}

export interface SGDOptions {
  momentum?: number;
  /** L2 penalty on weights (not biases) */
  weightDecay?: number;
}

/** SGD with momentum (PyTorch form: v = μv + g + λw; w -= lr·v); pruned weights get no update and stay zero. */
export class SGD implements Optimizer {
  private readonly velocity: Float32Array[];

  constructor(
    private readonly params: Param[],
    private readonly o: SGDOptions = {},
  ) {
    this.velocity = params.map((p) => new Float32Array(p.size));
  }

  step(lr: number): void {
    const mu = this.o.momentum ?? 0.9;
    this.params.forEach((p, k) => {
      const wd = p.isWeight ? (this.o.weightDecay ?? 0) : 0;
      const v = this.velocity[k];
      p.maskGrad();
      for (let i = 0; i < p.size; i++) {
        v[i] = mu * v[i] + p.grad[i] + wd * p.data[i];
        p.data[i] -= lr * v[i];
      }
      p.applyMask();
    });
  }
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** Adam (Kingma & Ba) with bias correction; masks as in SGD. */
export class Adam implements Optimizer {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    private readonly params: Param[],
    private readonly o: AdamOptions = {},
  ) {
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  step(lr: number): void {
    const { beta1: b1 = 0.9, beta2: b2 = 0.999, eps = 1e-8, weightDecay = 0 } = this.o;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    this.params.forEach((p, k) => {
      const wd = p.isWeight ? weightDecay : 0;
      const [m, v] = [this.m[k], this.v[k]];
      p.maskGrad();
      for (let i = 0; i < p.size; i++) {
        const g = p.grad[i] + wd * p.data[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        p.data[i] -= (lr * m[i]) / c1 / (Math.sqrt(v[i] / c2) + eps);
      }
      p.applyMask();
    });
  }
}
