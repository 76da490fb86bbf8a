// UtilityWorkerProcess against a fake `utilityProcess` (the real electron module is never loaded:
// vi.mock replaces it before import).
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';

class FakeUtilityProcess extends EventEmitter {
  pid: number | undefined = undefined;
  posted: unknown[] = [];
  killCalls = 0;
  postMessage(msg: unknown): void {
    this.posted.push(msg);
  }
  kill(): boolean {
    this.killCalls++;
    return true;
  }
  /** Test helpers: what Electron would do. */
  spawn(pid = 4242): void {
    this.pid = pid;
    this.emit('spawn');
  }
  exit(code: number): void {
    this.pid = undefined;
    this.emit('exit', code);
  }
}

const forks: { child: FakeUtilityProcess; modulePath: string; args: string[] | undefined; options: unknown }[] = [];

vi.mock('electron', () => ({
  utilityProcess: {
    fork: (modulePath: string, args?: string[], options?: unknown) => {
      const child = new FakeUtilityProcess();
      forks.push({ child, modulePath, args, options });
      return child;
    },
  },
}));

const { utilityWorkerLauncher } = await import('./utility-worker');

function launch() {
  const proc = utilityWorkerLauncher('/app/out/main/worker.js')();
  const fork = forks.at(-1)!;
  return { proc, child: fork.child, fork };
}

describe('utility-process worker', () => {
  beforeEach(() => {
    forks.length = 0;
  });

  it('forks out/main/worker.js as a named service with inherited stdio', () => {
    const { fork } = launch();
    expect(fork.modulePath).toBe('/app/out/main/worker.js');
    expect(fork.args).toEqual([]);
    expect(fork.options).toEqual({ serviceName: 'GAN Augment worker', stdio: 'inherit' });
  });

  it('has a pid only while running, and relays messages both ways', () => {
    const { proc, child } = launch();
    expect(proc.pid).toBeUndefined();
    child.spawn(77);
    expect(proc.pid).toBe(77);
    const got: unknown[] = [];
    proc.onMessage((m) => got.push(m));
    child.emit('message', { type: 'ready', pid: 77 });
    expect(got).toEqual([{ type: 'ready', pid: 77 }]);
    proc.send({ type: 'cancel', taskId: 't1' });
    expect(child.posted).toEqual([{ type: 'cancel', taskId: 't1' }]);
    child.exit(0);
    expect(proc.pid).toBeUndefined();
    proc.send({ type: 'shutdown' }); // after exit: dropped, no throw
    expect(child.posted).toHaveLength(1);
  });

  it('maps exit codes: 0 clean, 134 or a V8 OOM report oom, anything else crashed', () => {
    const cases: [number, string | null, string][] = [
      [0, null, 'clean-exit'],
      [1, null, 'crashed'],
      [134, null, 'oom'],
      [133, 'Reached heap limit Allocation failed - JavaScript heap out of memory', 'oom'],
      [5, 'some other fatal error', 'crashed'],
    ];
    for (const [code, fatal, want] of cases) {
      const { proc, child } = launch();
      const reasons: unknown[] = [];
      proc.onExit((reason, c) => reasons.push([reason, c]));
      if (fatal) child.emit('error', 'FatalError', 'v8::internal::Heap', fatal);
      child.exit(code);
      expect(reasons, `code ${code}`).toEqual([[want, code]]);
    }
  });

  it('reports killed when we killed it, and kill() is safe twice and after exit', () => {
    const { proc, child } = launch();
    child.spawn();
    const reasons: unknown[] = [];
    proc.onExit((reason) => reasons.push(reason));
    proc.kill();
    proc.kill();
    expect(child.killCalls).toBe(1);
    child.exit(15);
    proc.kill();
    expect(child.killCalls).toBe(1);
    expect(reasons).toEqual(['killed']);
  });

  it('tells a late onExit listener how it ended', async () => {
    const { proc, child } = launch();
    child.exit(3);
    const reason = await new Promise((resolve) => proc.onExit((r) => resolve(r)));
    expect(reason).toBe('crashed');
  });
});
