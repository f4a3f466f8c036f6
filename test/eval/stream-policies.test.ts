import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { streamPerplexityPolicies } from '../../src/eval/stream-policies.js';
import { streamPerplexity } from '../../src/eval/stream-perplexity.js';
import { writeStreamReport } from '../../src/eval/stream-report.js';
import { loadModel } from '../../src/llm/load.js';
import { tempDir } from '../helpers.js';

const loaded = await loadModel(undefined, { threads: 1 });
after(() => loaded.dispose());
const story = 'Lily and Tom played in the garden. The sun was warm and the flowers were bright.\n';

test('every policy streams the same text; recompute stops at its own cap', () => {
  const caches = [
    { policy: 'window' as const, capacity: 40 },
    { policy: 'sink' as const, sinks: 4, capacity: 40 },
    { policy: 'recompute' as const, capacity: 40 },
  ];
  const seen: number[] = [];
  const results = streamPerplexityPolicies(loaded.model, loaded.tokenizer, story, {
    caches,
    tokens: 200,
    recomputeTokens: 100,
    bucket: 30,
    onProgress: (i) => seen.at(-1) !== i && seen.push(i),
  });
  assert.deepEqual(
    results.map((r) => [r.policy, r.tokens]),
    [
      ['window', 200],
      ['sink', 200],
      ['recompute', 100],
    ],
  );
  assert.deepEqual(seen, [0, 1, 2]);
  const alone = streamPerplexity(loaded.model, loaded.tokenizer, story, {
    cache: caches[1],
    tokens: 200,
    bucket: 30,
  });
  assert.equal(results[1].meanNll, alone.meanNll);

  const prefix = join(tempDir(), 'stream');
  writeStreamReport(prefix, 'models/m.gguf', results);
  const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'policy,tokens,mean_nll,perplexity,rss_bytes');
  assert.equal(csv.length, 1 + results.reduce((n, r) => n + r.buckets.length, 0));
  assert.match(csv[1], /^window,30,[\d.]+,[\d.]+,\d+$/);
  const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as { model: string; results: unknown[] };
  assert.equal(json.model, 'models/m.gguf');
  assert.equal(json.results.length, 3);
  assert.match(
    readFileSync(`${prefix}.svg`, 'utf8'),
    /m\.gguf: log perplexity while streaming[^]*sink 4\+36/,
  );
});
