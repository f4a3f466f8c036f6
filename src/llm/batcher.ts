/**
 * Continuous batching for sessions that share a model: each decoding session hands its next token
 * to `step`, and every token handed in during one turn of the event loop goes through the model
 * in one `forwardBatch`, which reads the weights once for all its sequences (decode of weights
 * from memory is bound by that read). Sessions join and leave between steps; prompts are fed on
 * their own, between steps.
 */
import type { KVCache } from './kv-cache.js';
import type { LlamaModel } from './model.js';

interface Pending {
  token: number;
  cache: KVCache;
  resolve(logits: Float32Array): void;
  reject(err: unknown): void;
}

export class DecodeBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  /** forward passes run and tokens decoded: tokens / steps is the mean batch size */
  steps = 0;
  tokens = 0;

  constructor(readonly model: LlamaModel) {}

  /** Feeds `token` after what `cache` holds, batched with the other sessions' tokens; resolves to its logits. */
  step(token: number, cache: KVCache): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ token, cache, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const V = this.model.config.vocabSize;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.model.maxBatch);
      try {
        const logits = this.model.forwardBatch(
          batch.map((p) => p.token),
          batch.map((p) => p.cache),
        );
        this.steps++;
        this.tokens += batch.length;
        // copies: the next forward pass reuses the model's logits buffer
        batch.forEach((p, i) => p.resolve(logits.slice(i * V, (i + 1) * V)));
      } catch (err) {
        batch.forEach((p) => p.reject(err));
      }
    }
  }
}
