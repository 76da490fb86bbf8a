/**
 * The real worker process started by nodeWorkerLauncher: it says it is ready, runs below normal
 * priority (training keeps every core busy; the app's window must stay responsive), and ends when
 * told to.
 */
import { constants, getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { WorkerToMain } from '../shared/worker-protocol';
import { nodeWorkerLauncher } from './worker-host';

describe('worker process', () => {
  it('runs below normal priority and exits when told to shut down', async () => {
    const worker = nodeWorkerLauncher();
    try {
      const ready = await new Promise<WorkerToMain>((resolve) => worker.onMessage((m) => m.type === 'ready' && resolve(m)));
      expect(ready).toEqual({ type: 'ready', pid: worker.pid });
      // Below normal: nice 10 on Linux and macOS (os.getPriority reports the nice value).
      expect(getPriority(worker.pid!)).toBe(constants.priority.PRIORITY_BELOW_NORMAL);
      const exited = new Promise((resolve) => worker.onExit((reason) => resolve(reason)));
      worker.send({ type: 'shutdown' });
      expect(await exited).toBe('clean-exit');
    } finally {
      worker.kill();
    }
  }, 60_000);
});
