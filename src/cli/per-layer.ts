import { numberOption } from './model-options.js';
import { UserError } from '../index.js';

/**
 * "fc1=1.8,conv=0.5" or "1.2" -> a value for every named layer: a bare number sets all layers,
 * conv= / fc= every layer of that kind, a layer name that layer (most specific wins).
 */
export function perLayer(flag: string, spec: string, layers: string[]): Record<string, number> {
  const kind = (l: string) => l.replace(/\d+$/, '');
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => (part.includes('=') ? part.split('=') : ['*', part]))
    .map(([key, value]) => ({ key, value: Number(numberOption(flag, value)) }));
  const rank = (key: string) => (key === '*' ? 0 : layers.includes(key) ? 2 : 1);
  const out: Record<string, number> = {};
  for (const { key, value } of entries.sort((a, b) => rank(a.key) - rank(b.key))) {
    const targets = layers.filter((l) => key === '*' || l === key || kind(l) === key);
    if (targets.length === 0)
      throw new UserError(`${flag}: no layer matches ${key} (layers: ${layers.join(', ')})`);
    for (const l of targets) out[l] = value;
  }
  for (const l of layers) if (out[l] === undefined) throw new UserError(`${flag}: no value for layer ${l}`);
  return out;
}
