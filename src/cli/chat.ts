import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Chat, ContextOverflowError } from '../index.js';
import { type SamplingFlags, addSamplingOptions, samplingFrom } from './generate.js';
import {
  type CacheFlags,
  type ModelOptions,
  addCacheOptions,
  addModelOptions,
  cacheFrom,
  openModel,
  positiveInt,
} from './model-options.js';

interface ChatFlags extends ModelOptions, SamplingFlags, CacheFlags {
  system?: string;
  n: string;
}

const HELP = 'commands: /reset (forget the conversation), /exit; Ctrl-C stops an answer';

export function registerChat(program: Command): void {
  const command = program
    .command('chat')
    .description(`interactive chat that keeps the conversation in the KV cache (${HELP})`)
    .argument(
      '[model]',
      'GGUF file, Hugging Face folder or llama2.c checkpoint (default: the bundled stories260K)',
    )
    .option('--system <text>', 'system prompt')
    .option('-n <tokens>', 'most tokens per answer', '256');
  addCacheOptions(addSamplingOptions(addModelOptions(command))).action(
    async (model: string | undefined, f: ChatFlags) => {
      const maxTokens = positiveInt('-n', f.n);
      const sampling = samplingFrom(f);
      const loaded = await openModel(model, f);
      const chat = new Chat(loaded.model, loaded.tokenizer, f.system, cacheFrom(f));
      const interactive = process.stdin.isTTY === true;
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
      let answering: AbortController | null = null;
      rl.on('SIGINT', () => (answering ? answering.abort() : rl.close()));
      if (interactive)
        console.log(`effml chat: ${loaded.path} (context ${loaded.config.contextLength} tokens). ${HELP}`);
      const ask = () => interactive && process.stdout.write('> ');
      ask();
      try {
        for await (const line of rl) {
          const text = line.trim();
          if (text === '/exit') break;
          if (text === '/reset') {
            chat.reset();
            console.log('(conversation reset)');
          } else if (text !== '') {
            answering = new AbortController();
            try {
              const result = await chat.send(text, {
                ...sampling,
                maxTokens,
                signal: answering.signal,
                onText: (piece) => process.stdout.write(piece),
              });
              process.stdout.write(result.stopReason === 'aborted' ? ' [stopped]\n' : '\n');
            } catch (err) {
              if (!(err instanceof ContextOverflowError)) throw err;
              console.log(`\n(${err.message}; /reset to start a new conversation)`);
            } finally {
              answering = null;
            }
          }
          ask();
        }
      } finally {
        rl.close();
        chat.dispose();
        loaded.dispose();
      }
    },
  );
}
