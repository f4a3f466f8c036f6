import type { Command } from 'commander';
import { formatSummary, inspectFile } from '../index.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'show format, version, tensors, dtypes, shapes, parameter count and metadata of a model file ' +
        '(GGUF, safetensors or a model folder, llama2.c checkpoint or tokenizer.bin, IDX)',
    )
    .argument('<file>', 'model file or Hugging Face model folder')
    .option('--json', 'print JSON for scripts')
    .option('--tensors', 'list every tensor with its type and shape')
    .action((file: string, opts: { json?: boolean; tensors?: boolean }) => {
      const summary = inspectFile(file);
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else console.log(formatSummary(summary, opts.tensors ?? false));
    });
}
