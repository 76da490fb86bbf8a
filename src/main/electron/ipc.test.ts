// The IPC transport against a fake ipcMain (vi.mock replaces electron; the real one never loads).
import { describe, expect, it, vi } from 'vitest';
import type { CallResult, EventName } from '../../shared/contract';

type Handler = (event: unknown, ...args: unknown[]) => Promise<unknown>;
const handlers = new Map<string, Handler>();

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: Handler) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, fn);
    },
    removeHandler: (channel: string) => handlers.delete(channel),
  },
}));

const { registerIpc, CALL_CHANNEL, EVENT_CHANNEL } = await import('./ipc');
const { allowedOrigins } = await import('./policy');

function setup() {
  const sent: unknown[][] = [];
  const webContents = { isDestroyed: () => false, send: (...args: unknown[]) => sent.push(args) };
  const win = { webContents, isDestroyed: () => false };
  const calls: [string, unknown][] = [];
  let emit: ((name: EventName, payload: unknown) => void) | undefined;
  const session = {
    dispatch: async (name: string, input: unknown): Promise<CallResult<unknown>> => {
      calls.push([name, input]);
      if (name === 'boom') throw new Error('bug');
      return { ok: true, value: { name } };
    },
    onEvent: (l: (name: EventName, payload: unknown) => void) => {
      emit = l;
      return () => {
        emit = undefined;
      };
    },
  };
  let current: typeof win | null = win;
  const dispose = registerIpc({
    session,
    getWindow: () => current as never,
    origins: allowedOrigins(null),
  });
  const frame = (url: string, parent: unknown = null) => ({ url, parent });
  const event = (over: Partial<{ sender: unknown; senderFrame: unknown }> = {}) => ({
    sender: webContents,
    senderFrame: frame('app://gan-augment/index.html'),
    ...over,
  });
  const call = (ev: unknown, name: unknown, input: unknown) => handlers.get(CALL_CHANNEL)!(ev, name, input);
  return { sent, calls, emit: (n: EventName, p: unknown) => emit?.(n, p), dispose, call, event, frame, closeWindow: () => (current = null) };
}

describe('gan:call', () => {
  it('dispatches calls from the main window to the session', async () => {
    const t = setup();
    await expect(t.call(t.event(), 'app.info', {})).resolves.toEqual({ ok: true, value: { name: 'app.info' } });
    expect(t.calls).toEqual([['app.info', {}]]);
    t.dispose();
  });

  it('refuses other senders without reaching the session', async () => {
    const t = setup();
    const refused = [
      t.event({ sender: {} }), // another webContents
      t.event({ senderFrame: null }), // destroyed frame
      t.event({ senderFrame: t.frame('app://gan-augment/index.html', {}) }), // an iframe
      t.event({ senderFrame: t.frame('https://example.com/') }),
      t.event({ senderFrame: t.frame('file:///tmp/evil.html') }),
    ];
    for (const ev of refused) await expect(t.call(ev, 'app.info', {})).resolves.toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
    t.closeWindow();
    await expect(t.call(t.event(), 'app.info', {})).resolves.toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
    expect(t.calls).toEqual([]);
    t.dispose();
  });

  it('turns a non-string name and a throwing dispatch into error data', async () => {
    const t = setup();
    await expect(t.call(t.event(), 42, {})).resolves.toMatchObject({ ok: false, error: { kind: 'validation' } });
    await expect(t.call(t.event(), 'boom', {})).resolves.toMatchObject({ ok: false, error: { kind: 'internal' } });
    t.dispose();
  });
});

describe('gan:event', () => {
  it('forwards session events to the window until disposed', () => {
    const t = setup();
    t.emit('project.changed', null);
    expect(t.sent).toEqual([[EVENT_CHANNEL, 'project.changed', null]]);
    t.closeWindow();
    t.emit('project.changed', null); // no window: dropped
    expect(t.sent).toHaveLength(1);
    t.dispose();
    expect(handlers.has(CALL_CHANNEL)).toBe(false);
  });
});
