import assert from 'node:assert/strict';
import { after } from 'node:test';
import { type ServedModel, EffmlServer, type ServerOptions } from '../../src/server/server.js';

/** A server on a free loopback port, closed when the test file ends. */
export async function startServer(
  served: ServedModel,
  options: ServerOptions = {},
): Promise<{ server: EffmlServer; url: string }> {
  const server = new EffmlServer(served, options);
  const url = await server.listen('127.0.0.1', 0);
  after(() => server.close(0));
  return { server, url };
}

export interface Health {
  status: string;
  slots: { total: number; busy: number };
  queue: { waiting: number; size: number };
  decode: { batched: boolean; steps: number; tokens: number };
}

export async function health(url: string): Promise<Health> {
  return (await (await fetch(`${url}/health`)).json()) as Health;
}

/** Polls /health until `ok` holds (or fails after `ms`). */
export async function waitForHealth(url: string, ok: (h: Health) => boolean, ms = 10_000): Promise<Health> {
  const end = Date.now() + ms;
  for (;;) {
    const h = await health(url);
    if (ok(h)) return h;
    if (Date.now() > end) throw new Error(`health never reached the expected state: ${JSON.stringify(h)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function post(url: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/**
 * Reads a server-sent event stream; `onEvent` sees each parsed `data:` payload as it arrives
 * (the string "[DONE]" last) and may stop reading by returning false.
 */
export async function readEvents(
  response: Response,
  onEvent: (data: unknown) => boolean | void = () => true,
): Promise<unknown[]> {
  const events: unknown[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      assert.ok(line.startsWith('data: '), `not an SSE data line: ${line}`);
      const payload = line.slice(6);
      const data: unknown = payload === '[DONE]' ? payload : JSON.parse(payload);
      events.push(data);
      if (onEvent(data) === false) return events;
    }
  }
  return events;
}
