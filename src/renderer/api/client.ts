/**
 * The renderer's one client for the contract. Two transports carry the same calls and events:
 * - Electron: `window.ganAugment` (a PreloadBridge) exposed by the preload script;
 * - web: `POST /api/call/<name>` + a WebSocket at `/api/events`, authorised by the token that
 *   `gan-augment serve` put in the URL it printed.
 * Components never touch a transport; they get this client through `useClient()`.
 */
import type {
  CallInput,
  CallName,
  CallOutput,
  CallResult,
  ContractClient,
  EventName,
  EventPayload,
  PreloadBridge,
} from '../../shared/contract';
import type { AppErrorData, ErrorKind } from '../../shared/errors';

/** A call that failed; `message` is already a sentence for a person. */
export class ApiError extends Error {
  readonly kind: ErrorKind;
  readonly field: string | undefined;
  constructor(kind: ErrorKind, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.field = field;
  }
  static from(data: AppErrorData): ApiError {
    return new ApiError(data.kind, data.message, data.field);
  }
}

/**
 * `connecting`: first attempt; `connected`: events flow; `reconnecting`: the event channel
 * dropped and we retry with backoff (events in between may be lost, so refetch on `connected`).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface AppClient extends ContractClient {
  readonly mode: 'electron' | 'web';
  connectionState(): ConnectionState;
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** Stops the event channel and timers; safe to call twice. */
  dispose(): void;
}

type AnyListener = (payload: unknown) => void;

/** Listener bookkeeping shared by both transports; one listener throwing never stops the others. */
class EventHub {
  readonly #listeners = new Map<string, Set<AnyListener>>();
  on(event: string, listener: AnyListener): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }
  emit(event: string, payload: unknown): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`A listener for "${event}" failed`, err);
      }
    }
  }
}

class StateHub {
  #state: ConnectionState;
  readonly #listeners = new Set<(s: ConnectionState) => void>();
  constructor(initial: ConnectionState) {
    this.#state = initial;
  }
  get(): ConnectionState {
    return this.#state;
  }
  set(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const l of [...this.#listeners]) l(state);
  }
  on(listener: (s: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

function isCallResult(v: unknown): v is CallResult<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { ok?: unknown; error?: unknown };
  if (r.ok === true) return 'value' in r;
  if (r.ok === false) {
    const e = r.error as { kind?: unknown; message?: unknown } | undefined;
    return typeof e?.kind === 'string' && typeof e.message === 'string';
  }
  return false;
}

function unwrap<T>(result: unknown): T {
  if (!isCallResult(result)) {
    throw new ApiError('internal', 'GAN Augment sent an answer this window does not understand. Please restart the app.');
  }
  if (result.ok) return result.value as T;
  throw ApiError.from(result.error);
}

// ---------------------------------------------------------------------------------------------
// Electron

export function createElectronClient(bridge: PreloadBridge): AppClient {
  const hub = new EventHub();
  const state = new StateHub('connected'); // IPC lives as long as the window does
  let unsubscribe: (() => void) | undefined = bridge.subscribe((event, payload) => hub.emit(event, payload));
  return {
    mode: 'electron',
    async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
      let result: unknown;
      try {
        result = await bridge.invoke(name, input);
      } catch {
        throw new ApiError('internal', 'The window lost contact with GAN Augment. Please restart the app.');
      }
      return unwrap<CallOutput<N>>(result);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      return hub.on(event, listener as AnyListener);
    },
    connectionState: () => state.get(),
    onConnectionChange: (l) => state.on(l),
    dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Web

export const TOKEN_STORAGE_KEY = 'ganAugment.token';

/** What the web transport needs from the browser; tests pass fakes. */
export interface WebEnv {
  fetch: typeof fetch;
  WebSocket: new (url: string) => WebSocket;
  location: Pick<Location, 'href' | 'host' | 'protocol'>;
  history: Pick<History, 'replaceState' | 'state'>;
  sessionStorage: Pick<Storage, 'getItem' | 'setItem'>;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: never) => void;
}

/**
 * Takes `?token=` from the page URL once, keeps it for this tab in sessionStorage (so a reload
 * still works) and removes it from the visible URL so it does not end up in screenshots or
 * history. Returns null when neither place has one.
 */
export function takeToken(env: Pick<WebEnv, 'location' | 'history' | 'sessionStorage'>): string | null {
  const url = new URL(env.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    try {
      env.sessionStorage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      // storage disabled: the token lives only in memory for this page
    }
    url.searchParams.delete('token');
    env.history.replaceState(env.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  try {
    return env.sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s. */
export function backoffMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** attempt);
}

const UNREACHABLE = 'Could not reach GAN Augment. Check that it is still running, then try again.';
const NO_TOKEN =
  'This page was opened without its access key. Open the link that GAN Augment printed when it started.';

export function createWebClient(env: WebEnv, options: { connectEvents?: boolean } = {}): AppClient {
  const token = takeToken(env);
  const hub = new EventHub();
  const state = new StateHub('connecting');
  let socket: WebSocket | undefined;
  let retryTimer: unknown;
  let attempt = 0;
  let disposed = false;

  const wsUrl = () => {
    const scheme = env.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${env.location.host}/api/events?token=${encodeURIComponent(token ?? '')}`;
  };

  const scheduleReconnect = () => {
    if (disposed) return;
    state.set('reconnecting');
    retryTimer = env.setTimeout(connect, backoffMs(attempt));
    attempt += 1;
  };

  function connect(): void {
    if (disposed) return;
    let ws: WebSocket;
    try {
      ws = new env.WebSocket(wsUrl());
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      state.set('connected');
    };
    ws.onmessage = (msg: MessageEvent) => {
      let data: unknown;
      try {
        data = JSON.parse(String(msg.data));
      } catch {
        return;
      }
      const m = data as { event?: unknown; payload?: unknown } | null;
      if (m && typeof m.event === 'string') hub.emit(m.event, m.payload);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = undefined;
      scheduleReconnect();
    };
    // `error` is always followed by `close`, which schedules the retry.
    ws.onerror = () => {};
  }

  // Without a token the server refuses the socket; the first call explains what to do instead.
  if (token && options.connectEvents !== false) connect();

  return {
    mode: 'web',
    async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
      if (!token) throw new ApiError('unauthorized', NO_TOKEN);
      let response: Response;
      try {
        response = await env.fetch(`/api/call/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(input ?? {}),
        });
      } catch {
        throw new ApiError('internal', UNREACHABLE);
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        body = undefined;
      }
      if (isCallResult(body)) return unwrap<CallOutput<N>>(body);
      if (response.status === 401 || response.status === 403) throw new ApiError('unauthorized', NO_TOKEN);
      throw new ApiError('internal', UNREACHABLE);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      return hub.on(event, listener as AnyListener);
    },
    connectionState: () => state.get(),
    onConnectionChange: (l) => state.on(l),
    dispose() {
      if (disposed) return;
      disposed = true;
      if (retryTimer !== undefined) env.clearTimeout(retryTimer as never);
      const ws = socket;
      socket = undefined;
      ws?.close();
    },
  };
}

/** Picks the transport once, at start. */
export function createClient(): AppClient {
  const bridge = (window as unknown as { ganAugment?: PreloadBridge }).ganAugment;
  if (bridge) return createElectronClient(bridge);
  return createWebClient({
    fetch: window.fetch.bind(window),
    WebSocket: window.WebSocket,
    location: window.location,
    history: window.history,
    sessionStorage: window.sessionStorage,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (h) => window.clearTimeout(h),
  });
}
