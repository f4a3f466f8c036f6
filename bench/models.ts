/** Synthetic models for the benchmarks (real shapes, random weights: `effml synth`), written once to bench-results/models/. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLlama2cTokenizer } from '../src/formats/llama2c.js';
import { DEFAULT_VOCABULARY } from '../src/llm/load.js';
import { type SynthDType, synthesize } from '../src/llm/synth.js';
import { tokenizerFromLlama2c } from '../src/tokenizer/load.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MODELS = join(REPO, 'bench-results/models');
/** The real 32,000-token Llama 2 vocabulary when the team fixtures are beside the checkout. */
const LLAMA2_VOCAB = join(REPO, '../shared/models/llama2-tokenizer/tokenizer.bin');

/** The path of a synthetic GGUF like `like` in `dtype` (optionally with fewer layers), written if missing. */
export function syntheticModel(
  like: string,
  dtype: SynthDType,
  log: (line: string) => void,
  layers?: number,
): string {
  const path = join(MODELS, `${like}-${dtype}${layers ? `-${layers}l` : ''}.gguf`);
  if (!existsSync(path)) {
    mkdirSync(MODELS, { recursive: true });
    log(`writing ${path} (random weights)`);
    const vocabFile = existsSync(LLAMA2_VOCAB) ? LLAMA2_VOCAB : DEFAULT_VOCABULARY;
    const vocab = tokenizerFromLlama2c(readLlama2cTokenizer(vocabFile)).vocab;
    synthesize(path, { like, format: 'gguf', dtype, vocab, contextLength: 2048, layers });
  }
  return path;
}
