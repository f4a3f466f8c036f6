/** Replaces every linear of the decoder blocks with group-wise int4 (RTN, or with AWQ's clips). */
import type { LlamaModel } from '../llm/model.js';
import type { LayerWeights, Linear } from '../llm/weights.js';
import type { ClipPlan } from './awq.js';
import { packInt4 } from './pack-int4.js';
import { type QuantConfig, checkQuantConfig, dequantizeGroups, quantizeRTN } from './rtn.js';
import { UserError } from '../errors.js';

export const LINEAR_KEYS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;

/** [rows, cols] of each linear */
export function linearShape(model: LlamaModel, key: (typeof LINEAR_KEYS)[number]): [number, number] {
  const c = model.config;
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  return {
    wq: [qDim, c.dim],
    wk: [kvDim, c.dim],
    wv: [kvDim, c.dim],
    wo: [c.dim, qDim],
    w1: [c.hiddenDim, c.dim],
    w2: [c.dim, c.hiddenDim],
    w3: [c.hiddenDim, c.dim],
  }[key] as [number, number];
}

/**
 * Quantizes in place; int2..int4 values are stored packed in 4 bits. The embedding and classifier
 * stay as they are. The f32 linears are freed as they are replaced. Returns each layer's relative
 * weight error ||W - Q(W)||² / ||W||².
 */
export function quantizeModel(model: LlamaModel, config: QuantConfig, clips?: ClipPlan): number[] {
  checkQuantConfig(config);
  if (config.bits > 4)
    throw new UserError('int storage supports up to 4 bits (use fake quantization to study more)');
  const be = model.backend;
  return model.weights.layers.map((L: LayerWeights, l) => {
    let err = 0;
    let norm = 0;
    for (const key of LINEAR_KEYS) {
      const w = L[key];
      if (w.dtype !== 'f32')
        throw new UserError(`layer ${l} ${key} is ${w.dtype}: quantize from an f32 / f16 model`);
      const [rows, cols] = linearShape(model, key);
      const m = quantizeRTN(w.data, rows, cols, config, clips?.[l]?.[key]);
      const back = dequantizeGroups(m);
      for (let i = 0; i < back.length; i++) {
        err += (back[i] - w.data[i]) ** 2;
        norm += w.data[i] ** 2;
      }
      const packed = be.allocBytes(Math.ceil(cols / 2) * rows);
      packed.set(packInt4(m.q, rows, cols));
      const scales = be.allocF32(m.scales.length);
      scales.set(m.scales);
      const zeros = be.allocF32(m.zeros.length);
      zeros.set(m.zeros);
      const q: Linear = {
        dtype: 'int4',
        data: { packed, scales, zeros, groupSize: config.groupSize || cols },
      };
      L[key] = q;
      be.free(w.data); // the replaced f32 weights; the new ones are the weights' owner's
    }
    return err / norm;
  });
}
