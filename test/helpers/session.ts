/** Sessions for service tests (a real worker, as the app runs it), disposed after each test. */
import { afterEach } from 'vitest';
import { AppSession } from '../../src/main/services/session';
import { nodeWorkerLauncher } from '../../src/main/worker-host';

/** A new session per call (its app home in `home`), disposed after the test. */
export function useSessions(): (home: string) => AppSession {
  const sessions: AppSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.dispose();
  });
  return (home) => {
    const s = new AppSession({ mode: 'web', launchWorker: nodeWorkerLauncher, home });
    sessions.push(s);
    return s;
  };
}

/** The value of a dispatched call; a failed call fails the test with its error. */
export async function ok<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value as T;
}
