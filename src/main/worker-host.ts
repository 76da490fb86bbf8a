/**
 * One interface over the worker process: Electron's `utilityProcess.fork` in the desktop app
 * (src/main/electron/utility-worker.ts), `child_process.fork` in plain Node (here). The owner of
 * a WorkerProcess must call kill() (safe to call twice) when done with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from './paths';
import type { MainToWorker, WorkerExitReason, WorkerToMain } from '../shared/worker-protocol';

export interface WorkerProcess {
  readonly pid: number | undefined;
  send(msg: MainToWorker): void;
  onMessage(listener: (msg: WorkerToMain) => void): void;
  onExit(listener: (reason: WorkerExitReason, code: number | null) => void): void;
  kill(): void;
}

export type WorkerLauncher = () => WorkerProcess;

/**
 * Where the worker's entry is: out/main/worker.js next to the built main bundle, or the
 * TypeScript source (run through tsx) when main itself runs from source under vitest.
 */
export function resolveWorkerEntry(): { entry: string; execArgv: string[] } {
  const root = appRoot();
  const fromSource = __filename.endsWith('.ts'); // vitest runs main from source: run the worker from source too
  const source = join(root, 'src', 'worker', 'index.ts');
  if (fromSource && existsSync(source)) return { entry: source, execArgv: ['--import', 'tsx'] };
  return { entry: join(root, 'out', 'main', 'worker.js'), execArgv: [] };
}

export function exitReason(code: number | null, signal: NodeJS.Signals | null, killedByUs: boolean): WorkerExitReason {
  if (killedByUs) return 'killed';
  if (code === 0) return 'clean-exit';
  // V8 aborts with SIGABRT (or exit code 134) when the heap is exhausted.
  if (signal === 'SIGABRT' || code === 134) return 'oom';
  if (signal === 'SIGKILL' || signal === 'SIGTERM') return 'killed';
  return 'crashed';
}

class NodeWorkerProcess implements WorkerProcess {
  #child: ChildProcess | undefined;
  #killedByUs = false;
  readonly pid: number | undefined;

  constructor(entry: string, execArgv: string[]) {
    const child = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.#child = child;
    this.pid = child.pid;
    // A worker normally ends when its channel closes, but a stuck one never sees that: it must not
    // outlive this process (which exits on Ctrl+C pressed twice, for one).
    const done = killOnExit(() => child.kill('SIGKILL'));
    child.once('exit', () => {
      this.#child = undefined;
      done();
    });
  }

  send(msg: MainToWorker): void {
    if (this.#child?.connected) this.#child.send(msg);
  }

  onMessage(listener: (msg: WorkerToMain) => void): void {
    this.#child?.on('message', (m) => listener(m as WorkerToMain));
  }

  onExit(listener: (reason: WorkerExitReason, code: number | null) => void): void {
    const child = this.#child;
    if (!child) {
      listener('clean-exit', 0);
      return;
    }
    child.once('exit', (code, signal) => listener(exitReason(code, signal, this.#killedByUs), code));
  }

  kill(): void {
    const child = this.#child;
    if (!child) return; // already exited, crashed or never started
    this.#killedByUs = true;
    this.#child = undefined;
    child.kill(); // SIGTERM
    child.once('exit', escalateKill(() => child.kill('SIGKILL')));
  }
}

/** How long kill() waits after SIGTERM before it sends SIGKILL. */
export const KILL_GRACE_MS = 5_000;

/** SIGKILLs to send when this process exits (a timer would never fire then). */
const dueKills = new Set<() => void>();
let exitHookInstalled = false;

/** Runs `sigkill` if this process exits before the returned function is called. */
function killOnExit(sigkill: () => void): () => void {
  dueKills.add(sigkill);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const kill of dueKills) kill();
    });
  }
  return () => dueKills.delete(sigkill);
}

/**
 * After a SIGTERM: a process that has a SIGTERM handler and is stuck never runs it, so `sigkill`
 * follows after KILL_GRACE_MS, or when this process exits, whichever comes first. Returns what to
 * call once the child has exited.
 */
export function escalateKill(sigkill: () => void): () => void {
  const cancelOnExit = killOnExit(sigkill);
  const done = () => {
    clearTimeout(timer);
    cancelOnExit();
  };
  const timer = setTimeout(() => {
    done();
    sigkill();
  }, KILL_GRACE_MS);
  timer.unref();
  return done;
}

/** A launcher for any worker script (tests use stand-ins that misbehave on purpose). */
export function nodeScriptLauncher(entry: string, execArgv: string[] = []): WorkerLauncher {
  return () => new NodeWorkerProcess(entry, execArgv);
}

export const nodeWorkerLauncher: WorkerLauncher = () => {
  const { entry, execArgv } = resolveWorkerEntry();
  return new NodeWorkerProcess(entry, execArgv);
};
