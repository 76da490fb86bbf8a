/**
 * The worker process in the desktop app: Electron's `utilityProcess.fork`, behind the same
 * WorkerProcess interface as the child_process implementation in ../worker-host.ts.
 *
 * Inside the utility process the worker talks through `process.parentPort` (messages arrive as
 * `{ data }` events; replies go out with `process.parentPort.postMessage(msg)`), not through
 * `process.on('message')` / `process.send`. Both sides use structured clone, like
 * child_process with `serialization: 'advanced'`.
 */
import { utilityProcess, type UtilityProcess } from 'electron';
import { join } from 'node:path';
import type { MainToWorker, WorkerExitReason, WorkerToMain } from '../../shared/worker-protocol';
import { escalateKill, exitReason, type WorkerLauncher, type WorkerProcess } from '../worker-host';

type ExitListener = (reason: WorkerExitReason, code: number | null) => void;

class UtilityWorkerProcess implements WorkerProcess {
  #child: UtilityProcess;
  #killedByUs = false;
  #fatal: { location: string; report: string } | null = null;
  #exit: { reason: WorkerExitReason; code: number | null } | null = null;
  #exitListeners: ExitListener[] = [];
  /** Cancels the SIGKILL that follows kill()'s SIGTERM. */
  #onExited: (() => void) | null = null;

  constructor(entry: string) {
    this.#child = utilityProcess.fork(entry, [], {
      serviceName: 'GAN Augment worker',
      stdio: 'inherit',
    });
    // V8 fatal errors (out of memory among them) arrive here just before `exit`.
    this.#child.on('error', (_type, location, report) => {
      this.#fatal = { location, report };
    });
    this.#child.once('exit', (code) => {
      const reason = this.#reasonFor(code);
      this.#exit = { reason, code };
      this.#onExited?.();
      const listeners = this.#exitListeners;
      this.#exitListeners = [];
      for (const listener of listeners) listener(reason, code);
    });
  }

  /** Undefined until the process has spawned, and again after it has exited. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  send(msg: MainToWorker): void {
    // Messages posted before `spawn` are queued by Electron; after exit they are dropped, as in
    // the child_process implementation.
    if (this.#exit) return;
    this.#child.postMessage(msg);
  }

  onMessage(listener: (msg: WorkerToMain) => void): void {
    this.#child.on('message', (msg: unknown) => listener(msg as WorkerToMain));
  }

  onExit(listener: ExitListener): void {
    if (this.#exit) {
      const { reason, code } = this.#exit;
      queueMicrotask(() => listener(reason, code));
      return;
    }
    this.#exitListeners.push(listener);
  }

  kill(): void {
    if (this.#exit || this.#killedByUs) return; // already gone, or already asked: safe twice
    this.#killedByUs = true;
    const pid = this.#child.pid;
    this.#child.kill(); // SIGTERM on POSIX
    if (pid === undefined) return; // not spawned yet, or gone
    this.#onExited = escalateKill(() => {
      if (this.#exit) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* it ended meanwhile */
      }
    });
  }

  #reasonFor(code: number): WorkerExitReason {
    if (this.#killedByUs) return 'killed';
    const fatal = this.#fatal;
    if (fatal && /out of memory|heap limit|OOM/i.test(`${fatal.location}\n${fatal.report.slice(0, 4000)}`)) return 'oom';
    return exitReason(code, null, false);
  }
}

/**
 * A WorkerLauncher for AppSession in the desktop app. `entry` defaults to out/main/worker.js,
 * which electron-vite builds beside out/main/index.js (inside app.asar when packaged; Electron's
 * utility process loads scripts from the asar, and native modules from app.asar.unpacked).
 * Must be called after `app` is ready.
 */
export function utilityWorkerLauncher(entry: string = join(__dirname, 'worker.js')): WorkerLauncher {
  return () => new UtilityWorkerProcess(entry);
}
