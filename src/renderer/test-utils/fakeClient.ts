/** A ContractClient for render tests: answers from a table of handlers and lets tests emit events. */
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '../../shared/contract';
import type { ErrorKind } from '../../shared/errors';
import { ApiError, type AppClient, type ConnectionState } from '../api/client';

export type FakeHandlers = { [N in CallName]?: (input: CallInput<N>) => CallOutput<N> | Promise<CallOutput<N>> };

export interface FakeClient extends AppClient {
  calls: { name: CallName; input: unknown }[];
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  setConnection(state: ConnectionState): void;
}

export function fail(kind: ErrorKind, message: string, field?: string): never {
  throw new ApiError(kind, message, field);
}

export function createFakeClient(handlers: FakeHandlers, mode: 'electron' | 'web' = 'web'): FakeClient {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = 'connected';
  const calls: FakeClient['calls'] = [];
  return {
    mode,
    calls,
    async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
      calls.push({ name, input });
      const handler = handlers[name] as ((i: CallInput<N>) => CallOutput<N> | Promise<CallOutput<N>>) | undefined;
      if (!handler) throw new ApiError('internal', `The fake client has no answer for ${name}.`);
      return handler(input);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (p: unknown) => void);
      return () => set.delete(listener as (p: unknown) => void);
    },
    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    connectionState: () => state,
    onConnectionChange(l) {
      stateListeners.add(l);
      return () => stateListeners.delete(l);
    },
    setConnection(s) {
      state = s;
      for (const l of stateListeners) l(s);
    },
    dispose() {},
  };
}

export { makeJob } from '../../../test/helpers/job';
