/** React access to the client: components call `useClient()`, `useCall()` and `useEvent()`. */
import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '../../shared/contract';
import { ApiError, type AppClient, type ConnectionState } from './client';

const ClientContext = createContext<AppClient | null>(null);

export function ClientProvider({ client, children }: { client: AppClient; children: ReactNode }) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

export function useClient(): AppClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient() needs a <ClientProvider> above it');
  return client;
}

/** Subscribes for the component's lifetime; the latest `listener` is always the one called. */
export function useEvent<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): void {
  const client = useClient();
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => client.on(event, (payload) => latest.current(payload)), [client, event]);
}

export function useConnectionState(): ConnectionState {
  const client = useClient();
  return useSyncExternalStore(
    useCallback((onChange) => client.onConnectionChange(onChange), [client]),
    () => client.connectionState(),
  );
}

/** Runs `onConnected` each time the event channel comes back after a drop (events may be lost). */
export function useOnReconnect(onConnected: () => void): void {
  const client = useClient();
  const latest = useRef(onConnected);
  useEffect(() => {
    latest.current = onConnected;
  });
  useEffect(() => {
    let wasDown = client.connectionState() === 'reconnecting';
    return client.onConnectionChange((s) => {
      if (s === 'reconnecting') wasDown = true;
      if (s === 'connected' && wasDown) {
        wasDown = false;
        latest.current();
      }
    });
  }, [client]);
}

export type CallState<T> =
  | { status: 'loading'; data: T | undefined; error: undefined }
  | { status: 'success'; data: T; error: undefined }
  | { status: 'error'; data: T | undefined; error: ApiError };

export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError
    ? err
    : new ApiError('internal', 'Something unexpected went wrong in this window. Please try again.');
}

type Settled<T> = { request: string; data: T | undefined; error: ApiError | undefined };

/**
 * Calls `name` on mount and whenever `key` changes (pass a string that identifies the input).
 * While a new request runs, the previous data stays visible. Returns `[state, { reload, setData }]`.
 */
export function useCall<N extends CallName>(
  name: N,
  input: CallInput<N>,
  key = '',
): [CallState<CallOutput<N>>, { reload: () => void; setData: (data: CallOutput<N>) => void }] {
  const client = useClient();
  const [generation, setGeneration] = useState(0);
  const [settled, setSettled] = useState<Settled<CallOutput<N>> | null>(null);
  const inputRef = useRef(input);
  useEffect(() => {
    inputRef.current = input;
  });
  const request = `${name}\u0000${key}\u0000${generation}`;

  useEffect(() => {
    let live = true;
    client.call(name, inputRef.current).then(
      (data) => live && setSettled({ request, data, error: undefined }),
      (err: unknown) => live && setSettled((s) => ({ request, data: s?.data, error: asApiError(err) })),
    );
    return () => {
      live = false;
    };
  }, [client, name, request]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const setData = useCallback(
    (data: CallOutput<N>) => setSettled({ request, data, error: undefined }),
    [request],
  );

  let state: CallState<CallOutput<N>>;
  if (!settled || settled.request !== request) state = { status: 'loading', data: settled?.data, error: undefined };
  else if (settled.error) state = { status: 'error', data: settled.data, error: settled.error };
  else state = { status: 'success', data: settled.data as CallOutput<N>, error: undefined };
  return [state, { reload, setData }];
}
