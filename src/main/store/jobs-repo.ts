import type Database from 'better-sqlite3';
import type { Job, JobStatus, JobType, Progress } from '../../shared/contract';
import type { AppErrorData } from '../../shared/errors';

interface JobRow {
  id: string;
  type: string;
  title: string;
  status: string;
  params: string;
  progress_done: number;
  progress_total: number | null;
  progress_unit: string;
  message: string | null;
  error: string | null;
  result: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

function parseJson<T>(s: string | null): T | null {
  if (s === null) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}

export function rowToJob(r: JobRow, live?: Pick<Progress, 'ratePerSecond' | 'etaSeconds'>): Job {
  return {
    id: r.id,
    type: r.type as JobType,
    title: r.title,
    status: r.status as JobStatus,
    progress: {
      done: r.progress_done,
      total: r.progress_total,
      unit: r.progress_unit,
      ratePerSecond: live?.ratePerSecond ?? null,
      etaSeconds: live?.etaSeconds ?? null,
    },
    message: r.message,
    error: parseJson<AppErrorData>(r.error),
    result: parseJson<unknown>(r.result),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Jobs as rows; values always bound, never spliced. */
export class JobsRepo {
  readonly #db: Database.Database;
  constructor(db: Database.Database) {
    this.#db = db;
  }

  insert(job: { id: string; type: JobType; title: string; params: unknown; unit: string }): Job {
    const now = new Date().toISOString();
    this.#db
      .prepare(
        `INSERT INTO jobs (id, type, title, status, params, progress_unit, created_at, updated_at)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
      )
      .run(job.id, job.type, job.title, JSON.stringify(job.params ?? {}), job.unit, now, now);
    return this.get(job.id)!;
  }

  get(id: string): Job | undefined {
    const r = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return r ? rowToJob(r) : undefined;
  }

  list(limit = 100): Job[] {
    const rows = this.#db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as JobRow[];
    return rows.map((r) => rowToJob(r));
  }

  setStatus(id: string, status: JobStatus, extra: { error?: AppErrorData | null; result?: unknown; message?: string | null } = {}): void {
    const now = new Date().toISOString();
    const finished = status === 'completed' || status === 'stopped' || status === 'failed' || status === 'interrupted';
    this.#db
      .prepare(
        `UPDATE jobs SET status = ?, updated_at = ?,
           started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,
           finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
           error = COALESCE(?, error), result = COALESCE(?, result), message = COALESCE(?, message)
         WHERE id = ?`,
      )
      .run(
        status,
        now,
        status,
        now,
        finished ? 1 : 0,
        now,
        extra.error ? JSON.stringify(extra.error) : null,
        extra.result === undefined ? null : JSON.stringify(extra.result),
        extra.message ?? null,
        id,
      );
  }

  setProgress(id: string, done: number, total: number | null, message: string | null): void {
    this.#db
      .prepare('UPDATE jobs SET progress_done = ?, progress_total = ?, message = COALESCE(?, message), updated_at = ? WHERE id = ?')
      .run(done, total, message, new Date().toISOString(), id);
  }

  /** Jobs a previous process left queued or running died with it; `paused` ones keep their checkpoint. */
  markInterrupted(): number {
    const now = new Date().toISOString();
    return this.#db
      .prepare(
        `UPDATE jobs SET status = 'interrupted', finished_at = ?, updated_at = ?,
           message = 'GAN Augment closed while this was running. You can run it again.'
         WHERE status IN ('queued', 'running')`,
      )
      .run(now, now).changes;
  }
}
