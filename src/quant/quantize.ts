/** The quantization pipeline the CLI runs: calibrate (AWQ, SmoothQuant), search or smooth, quantize in place, save. */
import type { LlamaModel } from '../llm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type AwqResult, runAwq } from './awq.js';
import { type CalibrationOptions, calibrate } from './calibrate.js';
import { quantizeModel } from './quantize-model.js';
import { type QuantConfig, checkQuantConfig } from './rtn.js';
import { type QuantizationInfo, saveQuantizedModel } from './save.js';
import { type W8A8Options, quantizeW8A8, smoothModel } from './smoothquant.js';
import { UserError } from '../errors.js';

export interface QuantizeOptions extends QuantConfig, Partial<W8A8Options> {
  /** int4: rtn, awq; int8 W8A8: w8a8 (no smoothing), smoothquant */
  method: 'rtn' | 'awq' | 'w8a8' | 'smoothquant';
  /** SmoothQuant's migration strength (default 0.5) */
  alpha?: number;
  /** calibration text (AWQ, SmoothQuant, static activation scales) */
  calibText?: string;
  calibration?: CalibrationOptions;
  onStage?: (stage: string, done: number, total: number) => void;
}

export interface QuantizeReport extends QuantizationInfo {
  calibrationTokens: number;
  /** per layer: relative weight error ||W - Q(W)||² / ||W||² of its linears */
  layerErrors: number[];
  ratios?: AwqResult['ratios'];
  w8a8?: W8A8Options & { alpha?: number };
  seconds: number;
}

/** Quantizes `model` in place (its linears become int4 or int8) and returns what was done. */
export function quantizeLlama(model: LlamaModel, tokenizer: Tokenizer, o: QuantizeOptions): QuantizeReport {
  if (o.method === 'w8a8' || o.method === 'smoothquant') return quantizeInt8Model(model, tokenizer, o);
  checkQuantConfig(o);
  if (o.bits > 4) throw new UserError(`int storage holds 2 to 4 bits, got ${o.bits}`);
  if (o.method === 'awq' && !o.calibText) throw new UserError('AWQ needs calibration text (--calib <file>)');
  const t0 = performance.now();
  let calibrationTokens = 0;
  let awq: AwqResult | undefined;
  if (o.method === 'awq') {
    const stats = calibrate(model, tokenizer, o.calibText as string, {
      ...o.calibration,
      onProgress: (done, total) => o.onStage?.('calibrating', done, total),
    });
    calibrationTokens = stats[0].attn_in.seen;
    awq = runAwq(model, stats, { ...o, onLayer: (done, total) => o.onStage?.('searching', done, total) });
  }
  const layerErrors = quantizeModel(model, o, awq?.clips);
  return {
    layerErrors,
    method: o.method,
    bits: o.bits,
    groupSize: o.groupSize,
    calibrationTokens,
    ratios: awq?.ratios,
    seconds: (performance.now() - t0) / 1000,
  };
}

function quantizeInt8Model(model: LlamaModel, tokenizer: Tokenizer, o: QuantizeOptions): QuantizeReport {
  const t0 = performance.now();
  const w8: W8A8Options = { weight: o.weight ?? 'channel', act: o.act ?? 'token' };
  const alpha = o.alpha ?? 0.5;
  const needsCalibration = o.method === 'smoothquant' || w8.act === 'static';
  if (needsCalibration && !o.calibText)
    throw new UserError(`${o.method} with ${w8.act} activations needs calibration text (--calib <file>)`);
  const stats = needsCalibration
    ? calibrate(model, tokenizer, o.calibText as string, {
        ...o.calibration,
        onProgress: (done, total) => o.onStage?.('calibrating', done, total),
      })
    : null;
  if (o.method === 'smoothquant') smoothModel(model, stats!, alpha);
  const layerErrors = quantizeW8A8(model, w8, stats);
  return {
    layerErrors,
    method: o.method,
    bits: 8,
    groupSize: 0,
    calibrationTokens: stats?.[0].attn_in.seen ?? 0,
    w8a8: { ...w8, ...(o.method === 'smoothquant' ? { alpha } : {}) },
    seconds: (performance.now() - t0) / 1000,
  };
}

export function saveQuantized(
  dir: string,
  model: LlamaModel,
  tokenizer: Tokenizer,
  report: QuantizeReport,
  format: 'effml' | 'autoawq' = 'effml',
): void {
  const { method, bits, groupSize, calibrationTokens, w8a8 } = report;
  const info = { method, bits, groupSize, calibration_tokens: calibrationTokens, ...w8a8 };
  saveQuantizedModel(dir, model, tokenizer, info, format);
}
