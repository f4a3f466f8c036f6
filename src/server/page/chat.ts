/**
 * The chat page: keeps the conversation, streams each answer from /v1/chat/completions (server-sent
 * events) into the page as it comes, stops a generation on request, and shows tokens/s.
 */

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

interface Chunk {
  choices: { delta: { content?: string }; finish_reason: string | null }[];
  usage?: { completion_tokens: number };
  error?: { message: string };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const messagesView = $<HTMLElement>('messages');
const input = $<HTMLTextAreaElement>('input');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const status = $<HTMLElement>('status');

let conversation: Message[] = [];
let model = '';
let running: AbortController | null = null;

function show(role: string, text: string): HTMLElement {
  const div = document.createElement('div');
  div.className = `message ${role}`;
  div.textContent = text;
  messagesView.append(div);
  messagesView.scrollTop = messagesView.scrollHeight;
  return div;
}

function setRunning(controller: AbortController | null): void {
  running = controller;
  send.disabled = controller !== null;
  stop.disabled = controller === null;
}

/** Yields each JSON payload of a server-sent event stream. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
    }
  }
}

async function answer(): Promise<void> {
  const history = conversation;
  const controller = new AbortController();
  setRunning(controller);
  const view = show('assistant', '');
  let text = '';
  let tokens = 0;
  let first = 0;
  const rate = () =>
    tokens > 1 ? ` at ${((tokens - 1) / ((performance.now() - first) / 1000)).toFixed(1)} tokens/s` : '';
  status.textContent = 'thinking…';
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        messages: history,
        stream: true,
        stream_options: { include_usage: true },
        temperature: Number($<HTMLInputElement>('temperature').value),
        max_tokens: Number($<HTMLInputElement>('max-tokens').value),
      }),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => null)) as Chunk | null;
      throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
    }
    for await (const data of events(response.body)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error) throw new Error(chunk.error.message);
      const piece = chunk.choices[0]?.delta.content;
      if (piece) {
        if (tokens === 0) first = performance.now();
        tokens++;
        text += piece;
        view.textContent = text.trimStart();
        messagesView.scrollTop = messagesView.scrollHeight;
        status.textContent = `generating: ${tokens} tokens${rate()}`;
      }
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
    status.textContent = `done: ${tokens} tokens${rate()}`;
    history.push({ role: 'assistant', content: text.trim() });
  } catch (err) {
    if (controller.signal.aborted) {
      status.textContent = `stopped: ${tokens} tokens${rate()}`;
      history.push({ role: 'assistant', content: text.trim() });
    } else {
      // the failed turn leaves the conversation, so the next message can go through
      history.pop();
      view.classList.add('error');
      view.textContent = `${text}${text ? '\n' : ''}error: ${(err as Error).message} (this turn is not kept)`;
      status.textContent = 'error';
    }
  } finally {
    setRunning(null);
  }
}

$<HTMLFormElement>('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const content = input.value.trim();
  if (content === '' || running) return;
  input.value = '';
  conversation.push({ role: 'user', content });
  show('user', content);
  void answer();
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});

stop.addEventListener('click', () => running?.abort());

$<HTMLButtonElement>('new-chat').addEventListener('click', () => {
  running?.abort();
  conversation = [];
  messagesView.replaceChildren();
  status.textContent = 'ready';
});

void (async () => {
  const response = await fetch('/v1/models');
  const list = (await response.json()) as { data: { id: string }[] };
  model = list.data[0].id;
  $<HTMLElement>('model').textContent = model;
})();

export {}; // a module: its names do not clash with the DOM's globals (status, stop)
