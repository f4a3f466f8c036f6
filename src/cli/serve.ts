import type { Command } from 'commander';
import { EffmlServer, HeapExhaustedError, UserError } from '../index.js';
import {
  type CacheFlags,
  type ModelOptions,
  addCacheOptions,
  addModelOptions,
  cacheFrom,
  numberOption,
  openModel,
  positiveInt,
} from './model-options.js';

interface ServeFlags extends ModelOptions, CacheFlags {
  host: string;
  port: string;
  parallel: string;
  queue: string;
  maxTokens: string;
  modelId?: string;
  grace: string;
  ctx?: string;
  quiet?: boolean;
  batch: boolean;
}

const DEFAULT_SLOT_CONTEXT = 4096;

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'OpenAI-compatible server (/v1/models, /v1/completions, /v1/chat/completions) with a chat page at /',
    )
    .argument(
      '[model]',
      'GGUF file, Hugging Face folder or llama2.c checkpoint (default: the bundled stories260K)',
    )
    .option('--host <address>', 'address to listen on (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free one)', '8080')
    .option('--parallel <n>', 'requests that generate at once, each with its own KV cache', '4')
    .option('--queue <n>', 'requests that may wait for a slot; more get 429', '64')
    .option('--max-tokens <n>', 'most tokens per request, and the default', '1024')
    .option('--ctx <n>', "tokens each slot's KV cache holds (default: the model's context, at most 4096)")
    .option('--model-id <id>', "the name clients use (default: the model's file name)")
    .option('--grace <seconds>', 'on SIGINT/SIGTERM, how long running requests may finish', '5')
    .option('--no-batch', 'slots take turns token by token instead of decoding in one batch')
    .option('--quiet', 'no line per request');
  addCacheOptions(addModelOptions(command)).action(async (model: string | undefined, f: ServeFlags) => {
    const port = Number(f.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UserError(`--port must be an integer in [0, 65535], got ${f.port}`);
    const grace = numberOption('--grace', f.grace) ?? 5;
    if (grace < 0) throw new UserError(`--grace must be a number of seconds >= 0, got ${f.grace}`);
    const cache = cacheFrom(f);
    const ctx = positiveInt('--ctx', f.ctx);
    const loaded = await openModel(model, f);
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    try {
      const context = loaded.config.contextLength;
      if (ctx !== undefined && ctx > context)
        throw new UserError(`--ctx ${ctx} is more than the model's context of ${context} tokens`);
      // each slot allocates its whole cache up front: a 32k-token context times N slots would not fit
      cache.capacity ??= Math.min(ctx ?? DEFAULT_SLOT_CONTEXT, context);
      const parallel = positiveInt('--parallel', f.parallel);
      let server: EffmlServer;
      try {
        server = new EffmlServer(loaded, {
          modelId: f.modelId,
          parallel,
          queue: Number(f.queue), // checked by the server
          maxTokens: positiveInt('--max-tokens', f.maxTokens),
          cache,
          batch: f.batch,
          log: f.quiet ? undefined : log,
        });
      } catch (err) {
        if (!(err instanceof HeapExhaustedError)) throw err;
        throw new UserError(
          `${parallel} KV caches of ${cache.capacity} tokens do not fit beside the weights (${err.message}); ` +
            'lower --parallel or --ctx',
        );
      }
      const address = await server.listen(f.host, port);
      log(
        `effml serve: ${server.modelId} at ${address} (chat page: ${address}/, API: ${address}/v1, ` +
          `${server.pool.size} slots of ${cache.capacity} tokens, ${f.cache} cache)`,
      );
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      log(`${signal}: shutting down (running requests get ${grace} s to finish)`);
      await server.close(grace * 1000);
      log('stopped');
    } finally {
      loaded.dispose();
    }
  });
}
