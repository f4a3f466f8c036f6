#!/usr/bin/env node
/** The effml command line: a thin layer over the library. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { UserError } from '../index.js';
import { registerBench } from './bench.js';
import { registerChat } from './chat.js';
import { registerCompress } from './compress.js';
import { registerEie } from './eie.js';
import { registerEval } from './eval.js';
import { registerGenerate } from './generate.js';
import { registerInspect } from './inspect.js';
import { registerOutliers } from './outliers.js';
import { registerQuantize } from './quantize.js';
import { registerServe } from './serve.js';
import { registerSynth } from './synth.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('effml')
  .description(
    'EfficientML toolkit: compress neural networks with the HAN Lab methods and run them fast on CPU',
  )
  .version(pkg.version, '-v, --version')
  .showHelpAfterError();

registerInspect(program);
registerGenerate(program);
registerChat(program);
registerEval(program);
registerBench(program);
registerSynth(program);
registerQuantize(program);
registerOutliers(program);
registerCompress(program);
registerEie(program);
registerServe(program);

/** Errors about the user's input: one line, no stack trace. */
const USER_ERRORS = [UserError];

try {
  await program.parseAsync();
} catch (err) {
  if (USER_ERRORS.some((type) => err instanceof type) || (err as NodeJS.ErrnoException).code === 'ENOENT') {
    console.error(`effml: ${(err as Error).message}`);
    process.exit(1);
  }
  throw err;
}
