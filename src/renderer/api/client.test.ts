import { describe, expect, it, vi } from 'vitest';
import type { PreloadBridge } from '../../shared/contract';
import { ApiError, backoffMs, createElectronClient, createWebClient, takeToken, TOKEN_STORAGE_KEY, type WebEnv } from './client';

class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  close() {
    this.closed = true;
  }
}

function makeEnv(href: string, fetchImpl: WebEnv['fetch']) {
  const storage = new Map<string, string>();
  const timers: { fn: () => void; ms: number }[] = [];
  const replaced: string[] = [];
  FakeSocket.instances = [];
  const env: WebEnv = {
    fetch: fetchImpl,
    WebSocket: FakeSocket as unknown as WebEnv['WebSocket'],
    location: { href, host: new URL(href).host, protocol: new URL(href).protocol },
    history: { state: null, replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void replaced.push(String(url)) },
    sessionStorage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
    clearTimeout: () => {},
  };
  return { env, storage, timers, replaced };
}

const jsonResponse = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('takeToken', () => {
  it('takes the token from the URL once, stores it and removes it from the visible URL', () => {
    const { env, storage, replaced } = makeEnv('http://127.0.0.1:4000/?token=abc&x=1#/training', vi.fn());
    expect(takeToken(env)).toBe('abc');
    expect(storage.get(TOKEN_STORAGE_KEY)).toBe('abc');
    expect(replaced).toEqual(['/?x=1#/training']);
  });

  it('falls back to sessionStorage after a reload', () => {
    const { env, storage, replaced } = makeEnv('http://127.0.0.1:4000/#/overview', vi.fn());
    storage.set(TOKEN_STORAGE_KEY, 'kept');
    expect(takeToken(env)).toBe('kept');
    expect(replaced).toEqual([]);
  });
});

describe('web transport', () => {
  it('posts the input as JSON with the bearer token and returns the value', async () => {
    const fetchMock = vi.fn(async (..._args: Parameters<typeof fetch>) => jsonResponse({ ok: true, value: [] }));
    const { env } = makeEnv('http://127.0.0.1:4000/?token=t0k', fetchMock);
    const client = createWebClient(env, { connectEvents: false });
    await expect(client.call('projects.recent', {})).resolves.toEqual([]);
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/call/projects.recent');
    expect(init?.method).toBe('POST');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer t0k');
    expect(JSON.parse(String(init?.body))).toEqual({});
  });

  it('turns an error result into an ApiError with kind, message and field', async () => {
    const error = { kind: 'validation', message: 'Give the project a name.', field: 'name' };
    const { env } = makeEnv('http://127.0.0.1:4000/?token=t', async () => jsonResponse({ ok: false, error }, 400));
    const client = createWebClient(env, { connectEvents: false });
    const err = await client.call('projects.create', { name: '', parentDir: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ kind: 'validation', message: 'Give the project a name.', field: 'name' });
  });

  it('says the app cannot be reached when fetch fails, and asks for the link when there is no token', async () => {
    const { env } = makeEnv('http://127.0.0.1:4000/?token=t', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(createWebClient(env, { connectEvents: false }).call('app.info', {})).rejects.toMatchObject({ kind: 'internal' });

    const noToken = makeEnv('http://127.0.0.1:4000/', vi.fn());
    const client = createWebClient(noToken.env);
    await expect(client.call('app.info', {})).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(noToken.env.fetch).not.toHaveBeenCalled();
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it('maps a 401 without a result body to unauthorized', async () => {
    const { env } = makeEnv('http://127.0.0.1:4000/?token=t', async () => new Response('no', { status: 401 }));
    await expect(createWebClient(env, { connectEvents: false }).call('app.info', {})).rejects.toMatchObject({
      kind: 'unauthorized',
    });
  });

  it('delivers events, reports the connection state and reconnects with backoff', () => {
    const { env, timers } = makeEnv('http://127.0.0.1:4000/?token=a b', vi.fn());
    const client = createWebClient(env);
    const states: string[] = [];
    client.onConnectionChange((s) => states.push(s));
    const got: unknown[] = [];
    client.on('project.changed', (p) => got.push(p));

    const first = FakeSocket.instances[0]!;
    expect(first.url).toBe('ws://127.0.0.1:4000/api/events?token=a%20b');
    expect(client.connectionState()).toBe('connecting');
    first.onopen?.();
    first.onmessage?.({ data: JSON.stringify({ event: 'project.changed', payload: null }) });
    first.onmessage?.({ data: 'not json' });
    expect(got).toEqual([null]);

    first.onclose?.();
    expect(client.connectionState()).toBe('reconnecting');
    expect(timers.map((t) => t.ms)).toEqual([500]);
    timers[0]!.fn();
    FakeSocket.instances[1]!.onclose?.();
    expect(timers.map((t) => t.ms)).toEqual([500, 1000]);
    timers[1]!.fn();
    FakeSocket.instances[2]!.onopen?.();
    expect(states).toEqual(['connected', 'reconnecting', 'connected']);

    client.dispose();
    client.dispose();
    expect(FakeSocket.instances[2]!.closed).toBe(true);
    expect(timers).toHaveLength(2); // closing on dispose schedules nothing
  });

  it('backs off up to 10 seconds', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
  });
});

describe('electron transport', () => {
  it('unwraps CallResults and forwards events', async () => {
    let push: ((event: string, payload: unknown) => void) | undefined;
    const bridge: PreloadBridge = {
      invoke: vi.fn(async (name: string) =>
        name === 'projects.close'
          ? { ok: true, value: { ok: true } }
          : { ok: false, error: { kind: 'no-project', message: 'No project is open.' } },
      ),
      subscribe: (l) => {
        push = l;
        return () => {};
      },
    };
    const client = createElectronClient(bridge);
    await expect(client.call('projects.close', {})).resolves.toEqual({ ok: true });
    await expect(client.call('jobs.list', {})).rejects.toMatchObject({ kind: 'no-project', message: 'No project is open.' });
    const seen: unknown[] = [];
    client.on('project.changed', (p) => seen.push(p));
    push?.('project.changed', null);
    expect(seen).toEqual([null]);
    expect(client.connectionState()).toBe('connected');
  });
});
