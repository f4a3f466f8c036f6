/** What a model file holds, as a summary object (what `effml inspect --json` prints) and as text. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EFFML_VERSION } from './effml.js';
import { type GGUFArray, type GGUFFile, GGUFType } from './gguf.js';
import { type OpenedFile, openModelFile } from './open.js';
import type { TensorInfo } from './tensor-file.js';

export interface FileSummary {
  path: string;
  format: string;
  version: number | null;
  bytes: number;
  tensorCount: number;
  parameters: number;
  /** tensor count per stored type */
  dtypes: Record<string, number>;
  architecture: string | null;
  contextLength: number | null;
  vocabSize: number | null;
  tensors: { name: string; type: string; shape: number[] }[];
  metadata: Record<string, unknown>;
}

export function inspectFile(path: string): FileSummary {
  const opened = openModelFile(path);
  try {
    return summarize(path, opened);
  } finally {
    if (opened.kind !== 'idx' && opened.kind !== 'llama2c-tokenizer' && opened.kind !== 'effml')
      opened.file.close();
  }
}

function summarize(path: string, opened: OpenedFile): FileSummary {
  // a model folder or index counts the bytes of the files it stands for
  const files =
    opened.kind === 'safetensors-sharded'
      ? opened.file.shards.map((shard) => shard.path)
      : [opened.kind === 'idx' || opened.kind === 'effml' ? opened.path : opened.file.path];
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const base = { path, bytes, architecture: null, contextLength: null, vocabSize: null, version: null };
  switch (opened.kind) {
    case 'gguf': {
      const f = opened.file;
      const arch = f.get('general.architecture');
      const tokens = f.get('tokenizer.ggml.tokens');
      return {
        ...base,
        ...tensorStats(f.tensors),
        format: 'gguf',
        version: f.version,
        architecture: typeof arch === 'string' ? arch : null,
        contextLength: numberOrNull(f.get(`${String(arch)}.context_length`)),
        vocabSize: Array.isArray(tokens) ? tokens.length : numberOrNull(f.get(`${String(arch)}.vocab_size`)),
        metadata: ggufMetadataSummary(f),
      };
    }
    case 'safetensors':
    case 'safetensors-sharded': {
      const f = opened.file;
      const config = readJsonIfPresent(join(dirname(f.path), 'config.json'));
      const architectures = config?.architectures;
      return {
        ...base,
        ...tensorStats(f.tensors),
        format: opened.kind,
        architecture: Array.isArray(architectures)
          ? String(architectures[0])
          : ((config?.model_type as string) ?? null),
        contextLength: numberOrNull(config?.max_position_embeddings),
        vocabSize: numberOrNull(config?.vocab_size),
        metadata: { ...f.metadata, ...('shards' in f ? { shards: f.shards.length } : {}) },
      };
    }
    case 'llama2c': {
      const f = opened.file;
      return {
        ...base,
        ...tensorStats(f.tensors),
        format: 'llama2c',
        version: f.version,
        architecture: 'llama',
        contextLength: f.config.seqLen,
        vocabSize: f.config.vocabSize,
        metadata: { ...f.config },
      };
    }
    case 'llama2c-tokenizer': {
      const f = opened.file;
      return {
        ...base,
        ...tensorStats([]),
        format: 'llama2c-tokenizer',
        vocabSize: f.vocabSize,
        metadata: { max_token_length: f.maxTokenLength },
      };
    }
    case 'effml': {
      const meta = opened.file.meta as { network?: { name?: string } } | null;
      return {
        ...base,
        ...tensorStats(opened.file.tensors.map((t) => ({ name: t.name, type: t.encoding, shape: t.shape }))),
        format: 'effml',
        version: EFFML_VERSION,
        architecture: meta?.network?.name ?? null,
        metadata: Object.fromEntries(Object.entries(meta ?? {}).filter(([k]) => k !== 'network')),
      };
    }
    case 'idx': {
      const t = opened.tensor;
      return {
        ...base,
        format: 'idx',
        tensorCount: 1,
        parameters: t.numel,
        dtypes: { [t.dtype]: 1 },
        tensors: [{ name: 'data', type: t.dtype, shape: [...t.shape] }],
        metadata: {},
      };
    }
  }
}

function tensorStats(tensors: readonly Pick<TensorInfo, 'name' | 'type' | 'shape'>[]) {
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of tensors) {
    dtypes[t.type] = (dtypes[t.type] ?? 0) + 1;
    parameters += t.shape.reduce((a, b) => a * b, 1);
  }
  return {
    tensorCount: tensors.length,
    parameters,
    dtypes,
    tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape })),
  };
}

/** GGUF metadata with long arrays (vocabularies) shown by type and length. */
function ggufMetadataSummary(f: GGUFFile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of f.metadata) {
    if (v.type === GGUFType.ARRAY) {
      const arr = v.value as GGUFArray;
      out[key] = arr.items.length <= 8 ? f.get(key) : `[${arr.items.length} x ${typeName(arr.itemType)}]`;
    } else out[key] = typeof v.value === 'bigint' ? f.get(key) : v.value;
  }
  return out;
}

function typeName(t: number): string {
  return (
    Object.entries(GGUFType)
      .find(([, v]) => v === t)?.[0]
      .toLowerCase() ?? String(t)
  );
}

function readJsonIfPresent(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function formatSummary(s: FileSummary, showTensors: boolean): string {
  const lines = [
    `file          ${s.path}`,
    `format        ${s.format}${s.version !== null ? ` v${s.version}` : ''} (${s.bytes.toLocaleString('en-US')} bytes)`,
    `architecture  ${s.architecture ?? '-'}`,
    `context       ${s.contextLength ?? '-'}`,
    `vocabulary    ${s.vocabSize ?? '-'}`,
    `tensors       ${s.tensorCount}`,
    `parameters    ${s.parameters.toLocaleString('en-US')}`,
    `dtypes        ${
      Object.entries(s.dtypes)
        .map(([k, v]) => `${k} x${v}`)
        .join(', ') || '-'
    }`,
  ];
  const meta = Object.entries(s.metadata);
  if (meta.length > 0) {
    lines.push('metadata');
    for (const [k, v] of meta) lines.push(`  ${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  if (showTensors && s.tensors.length > 0) {
    const width = Math.max(...s.tensors.map((t) => t.name.length));
    lines.push('tensors (shape outermost first)');
    for (const t of s.tensors)
      lines.push(`  ${t.name.padEnd(width)}  ${t.type.padEnd(5)} [${t.shape.join(', ')}]`);
  }
  return lines.join('\n');
}
