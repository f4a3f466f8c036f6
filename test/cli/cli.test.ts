import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FileSummary } from '../../src/index.js';
import { REPO, SHARED, tempDir } from '../helpers.js';

const CLI = join(REPO, 'dist/src/cli/main.js');

function effml(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--version and --help', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(effml('--version').stdout.trim(), pkg.version);
  const help = effml('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /inspect \[options\] <file>/);
});

test('inspect --json describes every model file in ../shared/models', () => {
  const expected: Record<string, Partial<FileSummary>> = {
    'stories260K/tinyllamas-stories-260k-f32.gguf': {
      format: 'gguf',
      version: 1,
      tensorCount: 48,
      parameters: 292800,
    },
    'stories260K/stories260K.v3.derived.gguf': {
      format: 'gguf',
      version: 3,
      tensorCount: 48,
      parameters: 292800,
    },
    'stories260K/stories260K.bin': { format: 'llama2c', tensorCount: 47, parameters: 260032 },
    'stories260K/tok512.bin': { format: 'llama2c-tokenizer', vocabSize: 512 },
    'llama2-tokenizer/tokenizer.bin': { format: 'llama2c-tokenizer', vocabSize: 32000 },
  };
  const models = join(SHARED, 'models');
  const files = readdirSync(models, { recursive: true, encoding: 'utf8' }).filter((f) =>
    /\.(gguf|bin)$/.test(f),
  );
  assert.deepEqual(files.sort(), Object.keys(expected).sort());
  for (const file of files) {
    const r = effml('inspect', '--json', join(models, file));
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as FileSummary;
    for (const [key, value] of Object.entries(expected[file]))
      assert.equal(summary[key as keyof FileSummary], value, `${file} ${key}`);
    if (summary.format !== 'llama2c-tokenizer') {
      assert.equal(summary.architecture, 'llama');
      assert.equal(summary.contextLength, 512);
      assert.equal(summary.vocabSize, 512);
      assert.deepEqual(summary.dtypes, { F32: summary.tensorCount });
    }
  }
});

test('inspect prints a readable table with --tensors, and a clear error for what is not a model', () => {
  const r = effml('inspect', '--tensors', join(REPO, 'models/stories260K/stories260K.gguf'));
  assert.equal(r.code, 0);
  assert.match(r.stdout, /format +gguf v3/);
  assert.match(r.stdout, /blk\.0\.ffn_gate\.weight +F32 +\[172, 64\]/);
  for (const file of [join(SHARED, 'models/stories260K/README.md'), join(REPO, 'no-such-file.gguf')]) {
    const bad = effml('inspect', file);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^effml: .*(not a supported model file|no such file)/);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/); // no stack trace
  }
});

test('generate streams the bundled model greedily as run.c, and --json reports counts', () => {
  const r = effml('generate', '-p', 'Once upon a time', '--temp', '0', '-n', '40');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.\n',
  );
  const j = JSON.parse(effml('generate', '--json', '-n', '7', '--seed', '3').stdout) as Record<
    string,
    unknown
  >;
  assert.equal(j.generatedTokens, 7);
  assert.equal(j.promptTokens, 1);
  assert.deepEqual(JSON.parse(effml('generate', '--json', '-n', '7', '--seed', '3').stdout).tokens, j.tokens);
});

test('eval ppl --per-line reproduces run.c on the first 100 lines', () => {
  const dir = tempDir();
  const lines = readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(0, 100);
  writeFileSync(join(dir, 'head.txt'), lines.join('\n'));
  const r = effml(
    'eval',
    'ppl',
    join(REPO, 'models/stories260K/stories260K.bin'),
    '--text',
    join(dir, 'head.txt'),
    '--per-line',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { perplexity: number; meanNll: number; tokens: number };
  assert.equal(j.tokens, 9619);
  assert.equal(j.perplexity.toFixed(4), '4.1857');
});

test('chat reads turns from a pipe; model errors are one clear line', () => {
  const r = spawnSync(process.execPath, [CLI, 'chat', '-n', '8', '--seed', '1'], {
    input: 'Hello\n/reset\nHi again\n/exit\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(conversation reset\)/);
  const dir = tempDir();
  copyFileSync(join(REPO, 'models/stories260K/stories260K.bin'), join(dir, 'model.bin'));
  const bad = effml('generate', join(dir, 'model.bin'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^effml: .*carry no tokenizer; give one with --tokenizer/);
});

test('eval stream-ppl writes CSV, JSON and an SVG plot; generate --cache sink runs past the context', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'story.txt'),
    'Lily and Tom played in the garden. The sun was warm and the flowers were bright.\n',
  );
  const out = join(dir, 'stream');
  const r = effml(
    'eval',
    'stream-ppl',
    join(REPO, 'models/stories260K/stories260K.gguf'),
    '--text',
    join(dir, 'story.txt'),
    '--cache',
    'full,window,sink',
    '--window',
    '60',
    '--tokens',
    '200',
    '--bucket',
    '50',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sink +4 \+ 60 +200/);
  const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
    results: { policy: string; tokens: number }[];
  };
  assert.deepEqual(
    json.results.map((x) => [x.policy, x.tokens]),
    [
      ['full', 60],
      ['window', 200],
      ['sink', 200],
    ],
  );
  assert.match(readFileSync(`${out}.csv`, 'utf8'), /^policy,tokens,mean_nll,perplexity,rss_bytes\nfull,50,/);
  assert.match(readFileSync(`${out}.svg`, 'utf8'), /<svg[^]*<polyline[^]*sink 4\+60[^]*<\/svg>/);
  const g = effml('generate', '--cache', 'sink', '--window', '28', '-n', '100', '--json', '--seed', '2');
  assert.equal(JSON.parse(g.stdout).generatedTokens, 100);
  const full = effml('generate', '--window', '28', '-n', '100', '--json', '--seed', '2');
  assert.equal(JSON.parse(full.stdout).stopReason, 'context');
  assert.match(
    effml('generate', '--cache', 'ring').stderr,
    /--cache must be one of full, window, sink, recompute/,
  );
});

test('quantize writes a folder that generate loads; bad settings are clear errors', () => {
  const dir = tempDir();
  const calib = join(dir, 'calib.txt');
  writeFileSync(
    calib,
    readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8').slice(
      300_000,
      400_000,
    ),
  );
  const out = join(dir, 'awq4');
  const q = effml(
    'quantize',
    join(REPO, 'models/stories260K/stories260K.gguf'),
    '--method',
    'awq',
    '--w-bit',
    '4',
    '--group-size',
    '64',
    '--calib',
    calib,
    '--calib-samples',
    '8',
    '--calib-seqlen',
    '128',
    '-o',
    out,
    '--json',
  );
  assert.equal(q.code, 0, q.stderr);
  const report = JSON.parse(q.stdout) as {
    layerErrors: number[];
    ratios: unknown[];
    calibrationTokens: number;
  };
  assert.equal(report.layerErrors.length, 5);
  assert.equal(report.ratios.length, 5);
  assert.equal(report.calibrationTokens, 8 * 128);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
    quantization_config: Record<string, unknown>;
  };
  assert.equal(config.quantization_config.quant_method, 'effml-int4');
  const g = effml('generate', out, '-p', 'Once upon a time', '--temp', '0', '-n', '8');
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /^Once upon a time/);
  for (const [args, message] of [
    [['--w-bit', '9'], /--w-bit must be 2 to 4/],
    [['--method', 'awq'], /needs --calib/],
    [['--method', 'rtn', '--group-size', '-3'], /--group-size must be an integer >= 0/],
    [['--method', 'gptq'], /--method must be one of rtn, awq, w8a8, smoothquant/],
  ] as const) {
    const bad = effml(
      'quantize',
      join(REPO, 'models/stories260K/stories260K.gguf'),
      ...args,
      '-o',
      join(dir, 'x'),
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, message);
  }
});

test('compress writes a .effml file that evaluate decodes to the same accuracy; bad flags are clear errors', () => {
  const out = tempDir();
  const sample = join(REPO, 'data/fashion-mnist-sample');
  const r = effml(
    ...['compress', 'lenet-5', '--data', sample, '-o', out, '--limit-train', '600', '--epochs', '1'],
    ...[
      '--prune-iterations',
      '1',
      '--retrain-epochs',
      '1',
      '--finetune-epochs',
      '1',
      '--sensitivity',
      '1,0.5',
    ],
    ...['--bits', 'conv=6,fc2=4,fc1=5', '--prune-quality', '0.5', '--json'],
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    layers: { name: string; weightBits: number; kept: number }[];
    accuracy: { baseline: number; finetuned: number };
    decodedAccuracy: number;
    ratio: number;
    fileBytes: number;
  };
  assert.deepEqual(
    report.layers.map((l) => [l.name, l.weightBits]),
    [
      ['conv1', 6],
      ['conv2', 6],
      ['fc1', 5],
      ['fc2', 4],
    ],
  );
  assert.ok(report.layers.every((l) => l.kept > 0 && l.kept < 1));
  assert.ok(report.accuracy.baseline > 0.3, `baseline ${report.accuracy.baseline}`);
  assert.equal(report.decodedAccuracy, report.accuracy.finetuned);
  assert.ok(report.ratio > 5, `ratio ${report.ratio}`);
  assert.equal(readFileSync(join(out, 'model.effml')).byteLength, report.fileBytes);
  for (const f of ['report.json', 'report.md', 'sensitivity.svg', 'weights-conv1.svg', 'weights-fc1.svg'])
    assert.ok(readdirSync(out).includes(f), f);

  const e = effml('evaluate', join(out, 'model.effml'), '--data', sample, '--json');
  assert.equal(e.code, 0, e.stderr);
  const evaluated = JSON.parse(e.stdout) as { accuracy: number; savedAccuracy: number };
  assert.equal(evaluated.accuracy, evaluated.savedAccuracy);

  for (const [args, message] of [
    [['compress', 'alexnet', '--data', sample, '-o', out], /unknown network alexnet/],
    [['compress', 'lenet-5', '--data', out, '-o', out], /no train-images-idx3-ubyte/],
    [['compress', 'lenet-5', '--data', sample, '-o', out, '--bits', 'fc9=3'], /--bits: no layer matches fc9/],
    [
      ['compress', 'lenet-5', '--data', sample, '-o', out, '--bits', 'conv=12,fc=5'],
      /conv1: weight bits must be 1..8/,
    ],
    [['evaluate', join(SHARED, 'models/stories260K/stories260K.bin'), '--data', sample], /not an effml file/],
  ] as [string[], RegExp][]) {
    const bad = effml(...args);
    assert.equal(bad.code, 1, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
});

test('outliers, quantize --method smoothquant and eie simulate from the command line; bad flags are one line', () => {
  const dir = tempDir();
  const calib = join(dir, 'calib.txt');
  writeFileSync(
    calib,
    readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8').slice(-40000),
  );
  const twin = join(dir, 'twin');
  assert.equal(effml('outliers', '-o', twin, '--channels', '2').code, 0);
  const sq = join(dir, 'sq');
  const q = effml(
    'quantize',
    twin,
    '--method',
    'smoothquant',
    '--preset',
    'O3',
    '--calib',
    calib,
    '--calib-samples',
    '4',
    '-o',
    sq,
    '--json',
  );
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(JSON.parse(q.stdout).w8a8, { weight: 'tensor', act: 'static', alpha: 0.5 });
  const g = effml('generate', sq, '-p', 'Once upon a time', '--temp', '0', '-n', '12');
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /^Once upon a time/);

  const s = effml(
    'eie',
    'simulate',
    '--layer',
    '64x96',
    '--density',
    '0.2',
    '--pes',
    '4',
    '--fifo',
    '2',
    '--json',
  );
  assert.equal(s.code, 0, s.stderr);
  const sim = JSON.parse(s.stdout) as { cycles: number; idealCycles: number; loadEfficiency: number };
  assert.ok(sim.cycles >= sim.idealCycles && sim.loadEfficiency > 0 && sim.loadEfficiency <= 1);

  for (const [args, message] of [
    [['quantize', twin, '--method', 'smoothquant', '-o', sq], /needs --calib/],
    [['quantize', twin, '--method', 'w8a8', '--preset', 'O4', '-o', sq], /--preset must be O1, O2 or O3/],
    [['quantize', twin, '--method', 'w8a8', '--act', 'row', '-o', sq], /--act must be/],
    [
      ['quantize', twin, '--method', 'smoothquant', '--alpha', '2', '--calib', calib, '-o', sq],
      /--alpha must lie/,
    ],
    [['outliers', '-o', join(dir, 'x'), '--factor', '50'], /power of two/],
    [['eie', 'simulate', '--layer', 'big'], /ROWSxCOLS or FILE.effml:LAYER/],
    [['eie', 'simulate', '--layer', '10x10', '--density', '1.5'], /--density must lie in/],
  ] as [string[], RegExp][]) {
    const bad = effml(...args);
    assert.equal(bad.code, 1, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
  }
});
