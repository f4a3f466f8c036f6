/**
 * Multi-turn chat over one Session: the conversation is rendered with the model's chat template
 * (Jinja, via @huggingface/jinja) or a plain "User: / Assistant:" fallback, and only the tokens
 * the cache does not hold yet are fed each turn. When the conversation outgrows the context, a
 * `full` cache fails the turn with ContextOverflowError naming the limit (reset() starts over); a
 * `sink` cache keeps going forever, old turns falling out of the window while the sinks stay.
 */
import { Template } from '@huggingface/jinja';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { LlamaModel } from './model.js';
import { type GenerateOptions, type GenerateResult, Session, type SessionCacheOptions } from './session.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RenderedChat {
  text: string;
  /** strings that end the assistant's turn */
  stop: string[];
}

const PLAIN_ROLES = { system: 'System', user: 'User', assistant: 'Assistant' };

export function renderChat(tokenizer: Tokenizer, messages: readonly ChatMessage[]): RenderedChat {
  const special = (id: number | null) => (id === null ? '' : tokenizer.tokenText(id));
  if (tokenizer.chatTemplate) {
    const text = new Template(tokenizer.chatTemplate).render({
      messages,
      add_generation_prompt: true,
      bos_token: special(tokenizer.bos),
      eos_token: special(tokenizer.eos),
    });
    return { text, stop: [] };
  }
  const turns = messages.map((m) => `${PLAIN_ROLES[m.role]}: ${m.content}\n`).join('');
  return { text: `${turns}Assistant:`, stop: ['\nUser:', '\nSystem:'] };
}

export class Chat {
  readonly messages: ChatMessage[] = [];
  readonly session: Session;

  constructor(
    model: LlamaModel,
    readonly tokenizer: Tokenizer,
    readonly system?: string,
    cache: SessionCacheOptions = {},
  ) {
    this.session = new Session(model, tokenizer, cache);
    this.reset();
  }

  reset(): void {
    this.messages.length = 0;
    if (this.system) this.messages.push({ role: 'system', content: this.system });
    this.session.reset();
  }

  async send(content: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    this.messages.push({ role: 'user', content });
    const rendered = renderChat(this.tokenizer, this.messages);
    const bosText = this.tokenizer.bos === null ? null : this.tokenizer.tokenText(this.tokenizer.bos);
    const prompt = this.tokenizer.encode(rendered.text, {
      bos: !(bosText && rendered.text.startsWith(bosText)),
      special: true,
    });
    try {
      const result = await this.session.generate(prompt, {
        ...options,
        stop: [...rendered.stop, ...(options.stop ?? [])],
      });
      this.messages.push({ role: 'assistant', content: result.text.trim() });
      return result;
    } catch (err) {
      this.messages.pop();
      throw err;
    }
  }
}
