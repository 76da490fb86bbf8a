/**
 * The worker process entry. Runs under Electron's utilityProcess (messages on process.parentPort)
 * or Node's child_process.fork (messages on process.on('message')). Never touches SQLite: it reads
 * and writes files and reports through the typed protocol in src/shared/worker-protocol.ts.
 */
import { constants, setPriority } from 'node:os';
import type { MainToWorker, WorkerToMain } from '../shared/worker-protocol';
import { runTask } from './tasks';

/**
 * Training keeps every processor core busy (WebAssembly runs one thread per core): the worker runs
 * below normal priority, so that the app's window and the rest of the computer stay responsive;
 * with nothing else to do, it trains as fast. On Linux this applies to this thread and the threads it
 * starts from now on, the WebAssembly threads included.
 */
try {
  setPriority(constants.priority.PRIORITY_BELOW_NORMAL);
} catch {
  /* not permitted here: keep the normal priority */
}

/**
 * Ctrl+C in a terminal reaches every process of the foreground group, this worker included. The
 * parent (the CLI, `serve`) decides what Ctrl+C means and cancels the task by message, so that it
 * can save its checkpoint first; dying here would lose the steps since the last one. Under fork, a
 * parent that dies instead closes the channel, and the 'disconnect' handler below ends this process
 * (and a parent that exits SIGKILLs a worker still alive: src/main/worker-host.ts).
 */
process.on('SIGINT', () => {});

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function send(msg: WorkerToMain): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

const running = new Map<string, AbortController>();

function onMessage(msg: MainToWorker): void {
  switch (msg.type) {
    case 'run': {
      const abort = new AbortController();
      running.set(msg.taskId, abort);
      void runTask(msg.taskId, msg.task, abort.signal, send).finally(() => running.delete(msg.taskId));
      return;
    }
    case 'cancel':
      running.get(msg.taskId)?.abort();
      return;
    case 'shutdown':
      for (const a of running.values()) a.abort();
      setImmediate(() => process.exit(0));
      return;
  }
}

if (parentPort) parentPort.on('message', (e) => onMessage(e.data as MainToWorker));
else {
  process.on('message', (m) => onMessage(m as MainToWorker));
  // The parent died (or closed the channel): nothing is left to report to, so stop.
  process.on('disconnect', () => process.exit(0));
}

send({ type: 'ready', pid: process.pid });
