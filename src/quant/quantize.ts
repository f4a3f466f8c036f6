/** The quantization pipeline the CLI runs: calibrate (AWQ), search, quantize in place, save. */
import type { LlamaModel } from '../llm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type AwqResult, runAwq } from './awq.js';
import { type CalibrationOptions, calibrate } from './calibrate.js';
import { quantizeModel } from './quantize-model.js';
import { type QuantConfig, checkQuantConfig } from './rtn.js';
import { type QuantizationInfo, saveQuantizedModel } from './save.js';

export interface QuantizeOptions extends QuantConfig {
  method: 'rtn' | 'awq';
  /** calibration text (AWQ) */
  calibText?: string;
  calibration?: CalibrationOptions;
  onStage?: (stage: string, done: number, total: number) => void;
}

export interface QuantizeReport extends QuantizationInfo {
  calibrationTokens: number;
  /** per layer: relative weight error ||W - Q(W)||² / ||W||² of its linears */
  layerErrors: number[];
  ratios?: AwqResult['ratios'];
  seconds: number;
}

/** Quantizes `model` in place (its linears become int4) and returns what was done. */
export function quantizeLlama(model: LlamaModel, tokenizer: Tokenizer, o: QuantizeOptions): QuantizeReport {
  checkQuantConfig(o);
  if (o.bits > 4) throw new RangeError(`int storage holds 2 to 4 bits, got ${o.bits}`);
  if (o.method === 'awq' && !o.calibText) throw new RangeError('AWQ needs calibration text (--calib <file>)');
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

export function saveQuantized(
  dir: string,
  model: LlamaModel,
  tokenizer: Tokenizer,
  report: QuantizeReport,
  format: 'effml' | 'autoawq' = 'effml',
): void {
  const { method, bits, groupSize, calibrationTokens } = report;
  const info = { method, bits, groupSize, calibration_tokens: calibrationTokens };
  saveQuantizedModel(dir, model, tokenizer, info, format);
}
