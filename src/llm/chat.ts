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

/**
 * The prompt tokens of a rendered conversation: special tokens parsed, and a BOS in front unless
 * the template wrote one.
 */
export function encodeChat(tokenizer: Tokenizer, rendered: string): number[] {
  const bosText = tokenizer.bos === null ? null : tokenizer.tokenText(tokenizer.bos);
  return tokenizer.encode(rendered, { bos: !(bosText && rendered.startsWith(bosText)), special: true });
}

/** Owns its Session (and so its KV cache): dispose() frees it. */
export class Chat {
  readonly messages: ChatMessage[] = [];
  readonly session: Session;
  /** the conversation text the session has been fed, up to the end of the last answer */
  private fed: string | null = null;

  constructor(
    model: LlamaModel,
    readonly tokenizer: Tokenizer,
    readonly system?: string,
    cache: SessionCacheOptions = {},
  ) {
    this.session = new Session(model, tokenizer, cache);
    this.reset();
  }

  /** Frees the session's KV cache; the chat cannot answer after. */
  dispose(): void {
    this.session.dispose();
  }

  reset(): void {
    this.fed = null;
    this.messages.length = 0;
    if (this.system) this.messages.push({ role: 'system', content: this.system });
    this.session.reset();
  }

  /**
   * Answers `content`. The conversation is rendered whole; when it extends the text already fed
   * (the usual case), only the new part is tokenized and fed, which is what lets a `sink` cache
   * chat forever. Otherwise the session matches the whole prompt against its history.
   */
  async send(content: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    this.messages.push({ role: 'user', content });
    const rendered = renderChat(this.tokenizer, this.messages);
    const generateOptions = { ...options, stop: [...rendered.stop, ...(options.stop ?? [])] };
    try {
      let result: GenerateResult;
      if (this.fed !== null && rendered.text.startsWith(this.fed)) {
        const delta = this.tokenizer.encode(rendered.text.slice(this.fed.length), {
          bos: false,
          special: true,
        });
        result = await this.session.continue(delta, generateOptions);
      } else result = await this.session.generate(encodeChat(this.tokenizer, rendered.text), generateOptions);
      this.fed = rendered.text + result.text;
      this.messages.push({ role: 'assistant', content: result.text.trim() });
      return result;
    } catch (err) {
      this.messages.pop();
      this.fed = null;
      throw err;
    }
  }
}
