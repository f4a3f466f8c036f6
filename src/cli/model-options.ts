/** Options every command that runs a model shares, and loading with a progress line. */
import type { Command } from 'commander';
import {
  type BackendName,
  type LoadedModel,
  type SessionCacheOptions,
  loadModel,
  UserError,
} from '../index.js';
import { progress } from './progress.js';

export interface ModelOptions {
  tokenizer?: string;
  threads?: string;
  backend?: BackendName;
}

export function addModelOptions(command: Command): Command {
  return command
    .option('--tokenizer <file>', 'tokenizer.bin for a llama2.c checkpoint')
    .option('-t, --threads <n>', 'compute threads (default: EFFML_THREADS or all cores)')
    .option('--backend <name>', 'wasm or reference', 'wasm');
}

export function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${name} must be a positive integer, got ${value}`);
  return n;
}

export function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`${name} must be a number, got ${value}`);
  return n;
}

export async function openModel(path: string | undefined, o: ModelOptions): Promise<LoadedModel> {
  const bar = progress('loading');
  try {
    return await loadModel(path, {
      tokenizer: o.tokenizer,
      threads: positiveInt('--threads', o.threads),
      backend: o.backend,
      onProgress: (done, total) => bar.update(done, total),
    });
  } finally {
    bar.done();
  }
}

export interface CacheFlags {
  cache?: string;
  sinkTokens?: string;
  window?: string;
}

const POLICIES = ['full', 'window', 'sink', 'recompute'];

export function addCacheOptions(command: Command): Command {
  return command
    .option('--cache <policy>', `KV cache policy: ${POLICIES.join(', ')} (sink = StreamingLLM)`, 'full')
    .option('--sink-tokens <n>', 'attention-sink tokens kept by --cache sink', '4')
    .option('--window <n>', 'recent tokens kept (default: the context minus the sinks)');
}

export function cacheFrom(f: CacheFlags, policy = f.cache ?? 'full'): SessionCacheOptions {
  if (!POLICIES.includes(policy))
    throw new UserError(`--cache must be one of ${POLICIES.join(', ')}, got ${policy}`);
  const sinks = policy === 'sink' ? (positiveInt('--sink-tokens', f.sinkTokens) ?? 4) : 0;
  const window = positiveInt('--window', f.window);
  return {
    policy: policy as SessionCacheOptions['policy'],
    sinks,
    capacity: window === undefined ? undefined : sinks + window,
  };
}
