/**
 * The app as the UI sees it: at most one open project, its job runner and the worker. Both
 * transports (Electron IPC and the loopback server) create one AppSession and dispatch contract
 * calls into it; dispatch() validates every input against the contract before a handler runs.
 */
import { EventEmitter } from 'node:events';
import { platform } from 'node:os';
import {
  calls,
  isCallName,
  type CallOutput,
  type CallResult,
  type EventName,
  type EventPayload,
  type Handlers,
  type ProjectStatus,
} from '../../shared/contract';
import { AppError, toErrorData } from '../../shared/errors';
import type { SourceSpec } from '../../shared/import-types';
import { parseOrThrow } from '../../shared/validate';
import { appHome, defaultProjectsDir, sampleDataDir, typedPath } from '../paths';
import { appVersion, Project, resolveProjectDir } from '../store/project';
import type { WorkerLauncher } from '../worker-host';
import { JobRunner } from './jobs';
import { RecentProjects } from './recent';
import { verifySpec } from './verify';
import { classSamples, getBalance, getSplits, latestImport, setBalanceTarget, setSplits } from './dataset';
import { importDisk, importSpec, normaliseSource } from './import';
import { countGenerated, createRuns, endUnstartedRuns, estimate, generateSpec, getRun, latestSample, listGenerated, listRuns, markQueued, runDetail, tooFewSteps, trainSpec } from './training';
import { WorkerClient } from './worker-client';
import { deleteRun, runFootprint } from './run-deletion';
import { decideConflict, listConflicts, undoConflictDecision } from './conflicts';
import { generationDisk, projectDisk } from './project-disk';

export interface SessionOptions {
  mode: 'electron' | 'web';
  launchWorker: WorkerLauncher;
  /** A native folder picker (Electron); absent in the browser mode. */
  pickFolder?: (title?: string) => Promise<string | null>;
  /** A native file picker (Electron); absent in the browser mode. */
  pickFile?: (title?: string, extensions?: string[]) => Promise<string | null>;
  /** better-sqlite3 binary for Electron's ABI, when running inside Electron. */
  nativeBinding?: string;
  /** Folder for app-level state (recent projects); defaults to appHome(). */
  home?: string;
  /** Who holds the project lock, in words. */
  purpose?: string;
}

type Listener = (name: EventName, payload: unknown) => void;

interface Open {
  project: Project;
  runner: JobRunner;
}

export class AppSession {
  readonly #opts: SessionOptions;
  readonly #events = new EventEmitter();
  readonly #recent: RecentProjects;
  readonly #worker: WorkerClient;
  #open: Open | undefined;
  /** Projects left for another one and still winding down (their running job pausing), by folder. */
  readonly #closing = new Map<string, Promise<void>>();
  readonly handlers: Handlers;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#recent = new RecentProjects(opts.home ?? appHome());
    this.#worker = new WorkerClient(opts.launchWorker);
    this.handlers = this.#makeHandlers();
  }

  get project(): Project | undefined {
    return this.#open?.project;
  }

  get worker(): WorkerClient {
    return this.#worker;
  }

  onEvent(listener: Listener): () => void {
    const l = (name: EventName, payload: unknown) => listener(name, payload);
    this.#events.on('event', l);
    return () => this.#events.off('event', l);
  }

  #emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.#events.emit('event', name, payload);
  }

  /** Validates `rawInput` against the contract, runs the handler, returns errors as data. */
  async dispatch(name: string, rawInput: unknown): Promise<CallResult<unknown>> {
    try {
      if (!isCallName(name)) throw new AppError('validation', `There is no call named "${name}".`, { field: 'name' });
      const input = parseOrThrow(calls[name].input, rawInput ?? {});
      const handler = this.handlers[name] as (i: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(input) };
    } catch (err) {
      const error = toErrorData(err);
      if (error.kind === 'internal') console.error(`[gan-augment] ${name} failed:`, err);
      return { ok: false, error };
    }
  }

  /** Opens a project (closing the current one) and remembers it in the recent list. */
  openProject(path: string): ProjectStatus {
    const project = Project.open(path, { purpose: this.#opts.purpose ?? 'GAN Augment', nativeBinding: this.#opts.nativeBinding });
    return this.#adopt(project);
  }

  #adopt(project: Project): ProjectStatus {
    const previous = this.#open;
    this.#open = {
      project,
      runner: new JobRunner(project, this.#worker, (job) => {
        this.#emit('job.updated', job);
        // an import changes classes and counts: every window (and the CLI's status) should see it
        if (job.type === 'import' && job.status === 'completed' && this.#open?.project === project) this.#emit('project.changed', project.status());
      }),
    };
    // (not awaited: the new project is open already; a failure while the old one winds down, such as
    // a full disk when its queued runs are marked paused, is logged rather than left unhandled)
    if (previous) {
      const dir = previous.project.dir;
      const closing = this.#closeOpen(previous)
        .catch((err: unknown) => console.error('[gan-augment] closing the previous project failed:', err))
        .finally(() => this.#closing.delete(dir));
      this.#closing.set(dir, closing);
    }
    this.#recent.touch(project.dir, project.name);
    const status = project.status();
    this.#emit('project.changed', status);
    return status;
  }

  async #closeOpen(o: Open): Promise<void> {
    try {
      // A run training when its project closes (the app quits) is paused, not stopped: it saves a
      // checkpoint of every step done, and Resume carries on once the project is open again; a run
      // waiting its turn is paused too.
      const training = o.project.db.prepare(`SELECT job_id FROM runs WHERE status = 'running' AND job_id IS NOT NULL`).all() as { job_id: string }[];
      for (const { job_id } of training) {
        try {
          o.runner.cancel(job_id, 'pause');
        } catch {
          /* its job had already ended */
        }
      }
      o.project.db.prepare(`UPDATE runs SET status = 'paused', updated_at = ? WHERE status = 'queued'`).run(new Date().toISOString());
    } finally {
      await o.runner.dispose();
      o.project.close();
    }
  }

  async closeProject(): Promise<void> {
    const o = this.#open;
    this.#open = undefined;
    if (o) {
      await this.#closeOpen(o);
      this.#emit('project.changed', null);
    }
  }

  #require(): Open {
    if (!this.#open) throw new AppError('no-project', 'Open or create a project first.');
    return this.#open;
  }

  #enqueueTraining(runId: string, totalSteps?: number): void {
    const { project, runner } = this.#require();
    const job = runner.enqueue(trainSpec(runId, (e) => this.#emit('run.updated', e), totalSteps === undefined ? {} : { totalSteps }));
    markQueued(project, runId, job.id);
  }

  async dispose(): Promise<void> {
    await this.closeProject();
    await Promise.all(this.#closing.values()); // projects left for another, still winding down
    this.#worker.dispose();
    this.#events.removeAllListeners();
  }

  #makeHandlers(): Handlers {
    return {
      'app.info': async () => ({
        name: 'GAN Augment',
        version: appVersion(),
        mode: this.#opts.mode,
        platform: platform(),
        defaultProjectsDir: defaultProjectsDir(),
      }),
      'projects.recent': async () => this.#recent.list(),
      'projects.create': async ({ parentDir, name }) => {
        const project = Project.create(typedPath(parentDir, 'The folder for the project'), name, { purpose: this.#opts.purpose ?? 'GAN Augment', nativeBinding: this.#opts.nativeBinding });
        return this.#adopt(project);
      },
      'projects.createSample': async ({ parentDir, name }) => {
        const project = Project.create(typedPath(parentDir, 'The folder for the project'), name, { purpose: this.#opts.purpose ?? 'GAN Augment', nativeBinding: this.#opts.nativeBinding });
        const status = this.#adopt(project);
        const job = this.#require().runner.enqueue(importSpec({ kind: 'folder', root: sampleDataDir() }));
        return { ...status, jobs: [job, ...status.jobs] };
      },
      'projects.open': async ({ path: typed }) => {
        const path = typedPath(typed, 'The project folder');
        if (this.#open && this.#open.project.dir === resolveProjectDir(path)) return this.#open.project.status();
        // Opened again while it still winds down from being left for another project (a training run
        // saving its pause checkpoint): once that is done, rather than "already open in this window".
        await this.#closing.get(resolveProjectDir(path));
        return this.openProject(path);
      },
      'projects.forget': async ({ path }) => {
        this.#recent.forget(path);
        return { ok: true as const };
      },
      'projects.close': async () => {
        await this.closeProject();
        return { ok: true as const };
      },
      'project.current': async () => this.#open?.project.status() ?? null,
      'project.disk': async () => projectDisk(this.#require().project),
      'jobs.list': async () => this.#require().runner.list(),
      'jobs.start': async (input) => {
        const { runner } = this.#require();
        switch (input.type) {
          case 'verify':
            return runner.enqueue(verifySpec());
          case 'import':
            return runner.enqueue(importSpec(typedSource(input.source)));
        }
      },
      'import.previewCsv': async ({ file }) =>
        (await this.#worker.runTask({ kind: 'preview-csv', file: typedPath(file, 'The CSV file'), rows: 10 })) as CallOutput<'import.previewCsv'>,
      'import.scan': async ({ source }) => {
        const { project } = this.#require();
        const scan = (await this.#worker.runTask({ kind: 'scan-source', spec: normaliseSource(typedSource(source)) })) as Omit<CallOutput<'import.scan'>, 'disk'>;
        return { ...scan, disk: importDisk(project.dir, scan.total) };
      },
      'import.latest': async ({ limit }) => latestImport(this.#require().project, limit),
      'balance.get': async () => getBalance(this.#require().project),
      'balance.setTarget': async ({ target }) => setBalanceTarget(this.#require().project, target),
      'classes.samples': async ({ className, limit }) => classSamples(this.#require().project, className, limit),
      'splits.get': async () => getSplits(this.#require().project),
      'splits.set': async ({ seed, ratios }) => setSplits(this.#require().project, seed, ratios),
      'train.estimate': async (settings) => {
        const { project } = this.#require();
        // The estimate times real steps on the same processor or GPU: beside a training run it would
        // wait for that run to end (the worker computes one thing at a time).
        const busy = project.db.prepare(`SELECT id FROM runs WHERE status = 'running' LIMIT 1`).get() as { id: string } | undefined;
        if (busy) {
          throw new AppError(
            'conflict',
            `Run ${busy.id} is training now, and the estimate needs the same processor or GPU. Pause that run to estimate, or start the new run: it waits its turn.`,
          );
        }
        return estimate(project, this.#worker, settings);
      },
      'train.start': async (settings) => {
        const { project } = this.#require();
        const ids = createRuns(project, settings);
        for (const [i, id] of ids.entries()) {
          try {
            this.#enqueueTraining(id);
          } catch (err) {
            // (a full disk) the runs not queued would otherwise stay "queued" with no job behind them
            endUnstartedRuns(project, ids.slice(i), 'failed', toErrorData(err));
            throw err;
          }
        }
        return ids.map((id) => getRun(project, id));
      },
      'runs.list': async () => listRuns(this.#require().project),
      'runs.get': async ({ runId }) => runDetail(this.#require().project, runId),
      'runs.sample': async ({ runId }) => latestSample(this.#require().project, runId),
      'runs.pause': async ({ runId }) => {
        const { project, runner } = this.#require();
        const run = getRun(project, runId);
        if ((run.status !== 'running' && run.status !== 'queued') || !run.jobId) throw new AppError('conflict', `This run is ${run.status}, so there is nothing to pause.`);
        // a run that had not started yet is paused at once (its job's notStarted); a running one when its checkpoint is saved
        runner.cancel(run.jobId, 'pause');
        return getRun(project, runId);
      },
      'runs.resume': async ({ runId, steps }) => {
        const { project } = this.#require();
        const run = getRun(project, runId);
        if (run.status === 'running' || run.status === 'queued') throw new AppError('conflict', 'This run is already training.');
        if (run.status === 'completed' && (steps === undefined || steps <= run.step)) {
          throw new AppError('validation', `This run finished at step ${run.step}. Give a larger total number of steps to train it further.`, { field: 'steps' });
        }
        if (steps !== undefined && steps < run.step) throw tooFewSteps(run.step);
        this.#enqueueTraining(runId, steps);
        return getRun(project, runId);
      },
      'runs.stop': async ({ runId }) => {
        const { project, runner } = this.#require();
        const run = getRun(project, runId);
        if ((run.status === 'running' || run.status === 'queued') && run.jobId) runner.cancel(run.jobId, 'stop');
        else if (run.status === 'paused' || run.status === 'interrupted') {
          project.db.prepare(`UPDATE runs SET status = 'stopped', updated_at = ? WHERE id = ?`).run(new Date().toISOString(), runId);
          this.#emit('run.updated', { run: getRun(project, runId), metrics: [] });
        } else throw new AppError('conflict', `This run is ${run.status}, so there is nothing to stop.`);
        return getRun(project, runId);
      },
      'conflicts.list': async () => listConflicts(this.#require().project),
      'conflicts.decide': async ({ id, label }) => {
        const { project } = this.#require();
        const result = decideConflict(project, id, label);
        this.#emit('project.changed', project.status()); // class counts changed
        return result;
      },
      'conflicts.undo': async ({ id }) => {
        const { project } = this.#require();
        const result = undoConflictDecision(project, id);
        this.#emit('project.changed', project.status());
        return result;
      },
      'runs.footprint': async ({ runId }) => runFootprint(this.#require().project, runId),
      'runs.delete': async ({ runId }) => {
        const { project, runner } = this.#require();
        // the runner knows how jobs ended whose rows a full disk kept from being written
        const freed = await deleteRun(project, runId, (jobId) => runner.get(jobId)?.status);
        this.#emit('run.deleted', { runId });
        return freed;
      },
      'generate.start': async ({ runId, className, count, seed }) =>
        this.#require().runner.enqueue(generateSpec(runId, className, count, seed ?? Math.floor(Math.random() * 2 ** 31))),
      'generate.disk': async ({ runId }) => generationDisk(this.#require().project, runId),
      'generated.list': async (filter) => listGenerated(this.#require().project, filter),
      'generated.counts': async () => countGenerated(this.#require().project),
      'jobs.cancel': async ({ id }) => this.#require().runner.cancel(id),
      'dialog.pickFile': async ({ title, extensions }) => {
        if (!this.#opts.pickFile) {
          throw new AppError('unsupported', 'Choosing files is not available in the browser. Type or paste the file path instead.');
        }
        return { path: await this.#opts.pickFile(title, extensions) };
      },
      'dialog.pickFolder': async ({ title }) => {
        if (!this.#opts.pickFolder) {
          throw new AppError('unsupported', 'Folder browsing is not available in the browser. Type or paste the folder path instead.');
        }
        return { path: await this.#opts.pickFolder(title) };
      },
    };
  }

  /** The runner of the open project (for the CLI and tests). */
  get runner(): JobRunner {
    return this.#require().runner;
  }
}

/** An import source as typed into the window: every path full (`typedPath`). */
function typedSource(source: SourceSpec): SourceSpec {
  if (source.kind === 'folder') return { kind: 'folder', root: typedPath(source.root, 'The image folder') };
  return {
    ...source,
    imagesDir: typedPath(source.imagesDir, 'The image folder'),
    csvFile: typedPath(source.csvFile, 'The CSV file'),
    ...(source.groupCsv ? { groupCsv: { ...source.groupCsv, file: typedPath(source.groupCsv.file, 'The CSV file of patient groups') } } : {}),
  };
}
