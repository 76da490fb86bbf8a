/**
 * A project is a folder `<name>.ganaug/` holding `project.sqlite` (all state), `cache/` and, later,
 * `runs/` and `generated/`. Originals are never modified. Only one process writes a project at a
 * time (lock.ts); readers may open it read-only at any time.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ClassSummary, ProjectStatus } from '../../shared/contract';
import { AppError, toErrorData } from '../../shared/errors';
import { freeBytes } from '../disk';
import { acquireLock, type ProjectLock } from './lock';
import { LATEST_VERSION } from './migrations';
import { migrate, newerVersionError, schemaVersion } from './migrate';
import { JobsRepo } from './jobs-repo';
import { appVersion } from '../paths';

export { appVersion };

export const PROJECT_EXT = '.ganaug';
export const DB_FILE = 'project.sqlite';
/** A training run's checkpoints and sample grids: `runs/<run id>/`. */
export const RUNS_DIR = 'runs';
/** Images generated from a run: `generated/<run id>/step-<N>/<class>/`. */
export const GENERATED_DIR = 'generated';
/**
 * A run's folder being deleted is first renamed `.deleting-<time>-<run id>` (services/run-deletion.ts);
 * the database transaction deleting the run's rows is the commit point.
 */
export const DELETING_PREFIX = '.deleting-';
const DELETING_NAME = /^\.deleting-\d+-(.+)$/;

export interface OpenOptions {
  /** Who holds the lock, in words, shown to a second process that is refused. */
  purpose?: string;
  /** Path of a better-sqlite3 binary built for Electron's ABI (see src/main/electron/native.ts). */
  nativeBinding?: string;
}

/** `foo` may name `foo.ganaug`; returns the absolute folder path that exists, or the input resolved. */
export function resolveProjectDir(p: string): string {
  const abs = resolve(p);
  if (!existsSync(abs) && !abs.endsWith(PROJECT_EXT) && existsSync(abs + PROJECT_EXT)) return abs + PROJECT_EXT;
  return abs;
}

/** Below this much free space, an I/O error of SQLite is put down to the full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * SQLite says "disk I/O error" (SQLITE_IOERR_*), not "disk full", when it cannot map its shared-memory
 * file on a full disk, which even reading a project in WAL mode needs. Where the disk holding `dir` is
 * (nearly) full, that is the cause, and the person is told so; anything else is left as it is.
 */
export function diskFullInstead(dir: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_IOERR')) return err;
  const free = freeBytes(dir);
  if (free === null || free >= NEARLY_FULL_BYTES) return err;
  return new AppError('disk-full', 'The disk holding the project is full, so it cannot even be read. Free some space and try again; nothing was lost.', {
    cause: err,
  });
}

/** Opens the database; if that fails after the file was opened (a full disk), closes it again. */
function openDb(file: string, opts: { readonly: boolean; nativeBinding?: string }): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, {
      readonly: opts.readonly,
      fileMustExist: true,
      ...(opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {}),
    });
    db.pragma('busy_timeout = 5000');
    // A project from a newer app is refused before anything (even the WAL switch) touches it.
    const version = schemaVersion(db);
    if (version > LATEST_VERSION) throw newerVersionError(version);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db?.close();
    throw diskFullInstead(dirname(file), err);
  }
}

function checkIsProjectFolder(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    const e = toErrorData(err);
    if (e.kind === 'not-found') throw new AppError('not-found', `There is no folder at ${dir}.`);
    if (e.kind === 'read-only') throw new AppError('read-only', `GAN Augment is not allowed to read ${dir}.`);
    throw err;
  }
  if (!st.isDirectory()) throw new AppError('not-a-project', `${dir} is a file, not a GAN Augment project folder.`);
  if (!existsSync(join(dir, DB_FILE))) {
    throw new AppError(
      'not-a-project',
      `${dir} is not a GAN Augment project: it has no ${DB_FILE}. Choose a folder ending in ${PROJECT_EXT}, or create a new project.`,
    );
  }
  try {
    accessSync(join(dir, DB_FILE), constants.R_OK);
  } catch {
    throw new AppError('read-only', `GAN Augment is not allowed to read the project at ${dir}.`);
  }
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function checkWritable(dir: string): void {
  if (!isWritable(dir) || !isWritable(join(dir, DB_FILE))) {
    throw new AppError(
      'read-only',
      `The project at ${dir} is read-only (the folder or disk does not allow changes). Copy it to a folder you can write to, or change its permissions. It was not changed.`,
    );
  }
}

export class Project {
  readonly dir: string;
  readonly db: Database.Database;
  readonly jobs: JobsRepo;
  readonly readOnly: boolean;
  #lock: ProjectLock | undefined;
  /** A read-only project's database copy (see openReadOnly), removed on close. */
  #snapshot: string | undefined;

  private constructor(dir: string, db: Database.Database, lock: ProjectLock | undefined, snapshot?: string) {
    this.dir = dir;
    this.db = db;
    this.#lock = lock;
    this.#snapshot = snapshot;
    this.readOnly = lock === undefined;
    this.jobs = new JobsRepo(db);
  }

  /** Opens for writing: takes the lock, refuses newer formats, migrates older ones, marks jobs a dead process left running as interrupted. */
  static open(path: string, opts: OpenOptions = {}): Project {
    const dir = resolveProjectDir(path);
    checkIsProjectFolder(dir);
    checkWritable(dir);
    const lock = acquireLock(dir, opts.purpose ?? 'GAN Augment');
    let db: Database.Database | undefined;
    try {
      db = openDb(join(dir, DB_FILE), { readonly: false, nativeBinding: opts.nativeBinding });
      const version = schemaVersion(db);
      if (version === 0) {
        throw new AppError('not-a-project', `${dir} has a ${DB_FILE} that is not a GAN Augment project database.`);
      }
      migrate(db); // throws newer-version before writing anything
      const project = new Project(dir, db, lock);
      project.jobs.markInterrupted();
      // training runs a dead process left running resume from their last checkpoint
      db.prepare(`UPDATE runs SET status = 'interrupted', updated_at = ? WHERE status IN ('running', 'queued')`).run(new Date().toISOString());
      project.#finishRunDeletions();
      return project;
    } catch (err) {
      db?.close();
      lock.release();
      if ((err as { code?: string }).code === 'SQLITE_NOTADB') {
        throw new AppError('not-a-project', `${dir}/${DB_FILE} is damaged or is not a database. The file was not changed.`);
      }
      throw diskFullInstead(dir, err);
    }
  }

  /**
   * Opens without the lock and without writing: for `status` while the app has the project open. On a
   * read-only disk (a project on a read-only share or stick), where SQLite cannot create the
   * shared-memory file that reading a WAL database needs, it reads a copy of the database (and of its
   * WAL, if one was left), made in a temporary folder and removed on close.
   */
  static openReadOnly(path: string, opts: Pick<OpenOptions, 'nativeBinding'> = {}): Project {
    const dir = resolveProjectDir(path);
    checkIsProjectFolder(dir);
    let snapshot: string | undefined;
    let db: Database.Database;
    try {
      db = openDb(join(dir, DB_FILE), { readonly: true, nativeBinding: opts.nativeBinding });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_CANTOPEN' || isWritable(dir)) throw err;
      snapshot = mkdtempSync(join(tmpdir(), 'gan-augment-read-only-'));
      try {
        for (const f of [DB_FILE, `${DB_FILE}-wal`]) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(snapshot, f));
        db = openDb(join(snapshot, DB_FILE), { readonly: true, nativeBinding: opts.nativeBinding });
      } catch (copyErr) {
        rmSync(snapshot, { recursive: true, force: true });
        throw copyErr;
      }
    }
    try {
      const version = schemaVersion(db);
      if (version === 0) throw new AppError('not-a-project', `${dir} has a ${DB_FILE} that is not a GAN Augment project database.`);
      return new Project(dir, db, undefined, snapshot);
    } catch (err) {
      db.close();
      if (snapshot) rmSync(snapshot, { recursive: true, force: true });
      throw diskFullInstead(dir, err);
    }
  }

  /**
   * Creates `<parentDir>/<name>.ganaug` and opens it. Built in a hidden temporary folder and renamed
   * into place, so a failure leaves no partial project behind.
   */
  static create(parentDir: string, name: string, opts: OpenOptions = {}): Project {
    const parent = resolve(parentDir);
    const dir = join(parent, name.endsWith(PROJECT_EXT) ? name : name + PROJECT_EXT);
    if (existsSync(dir)) {
      throw new AppError('conflict', `A folder named "${basename(dir)}" already exists in ${parent}. Choose another name, or open it instead.`, {
        field: 'name',
      });
    }
    try {
      mkdirSync(parent, { recursive: true });
      accessSync(parent, constants.W_OK);
    } catch (err) {
      const e = toErrorData(err);
      if (e.kind === 'disk-full') throw new AppError('disk-full', 'The disk is full, so the project could not be created.');
      throw new AppError('read-only', `GAN Augment cannot create a project in ${parent}: the folder cannot be written to. Choose another folder.`, {
        field: 'parentDir',
      });
    }
    const tmp = join(parent, `.${basename(dir)}.creating-${process.pid}-${Date.now()}`);
    try {
      mkdirSync(join(tmp, 'cache'), { recursive: true });
      const db = new Database(join(tmp, DB_FILE), opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {});
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('foreign_keys = ON');
        migrate(db);
        const now = new Date().toISOString();
        const insert = db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?)');
        db.transaction(() => {
          insert.run('id', randomUUID());
          insert.run('name', name.replace(new RegExp(`\\${PROJECT_EXT}$`), ''));
          insert.run('created_at', now);
          insert.run('created_by_version', appVersion());
        })();
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      const e = toErrorData(err);
      if (e.kind === 'disk-full') throw new AppError('disk-full', 'The disk is full, so the project could not be created. Nothing was left behind.');
      throw err;
    }
    return Project.open(dir, opts);
  }

  /** The folders a training run has files in (they need not exist): its own (checkpoints, sample grids) and its generated images. */
  runFolders(runId: string): { run: string; generated: string } {
    return { run: join(this.dir, RUNS_DIR, runId), generated: join(this.dir, GENERATED_DIR, runId) };
  }

  /**
   * Finishes what a process that died while deleting a run left: a folder renamed for deletion whose
   * run the database still has (the deletion was not committed) gets its name back; the others are
   * removed. Best effort: what cannot be done now is tried at the next open.
   */
  #finishRunDeletions(): void {
    const known = this.db.prepare('SELECT 1 FROM runs WHERE id = ?');
    for (const parent of [join(this.dir, RUNS_DIR), join(this.dir, GENERATED_DIR)]) {
      let names: string[];
      try {
        names = readdirSync(parent);
      } catch {
        continue; // no runs yet
      }
      for (const name of names) {
        const id = DELETING_NAME.exec(name)?.[1];
        if (!id) continue;
        try {
          if (!known.get(id)) rmSync(join(parent, name), { recursive: true, force: true });
          else if (!existsSync(join(parent, id))) renameSync(join(parent, name), join(parent, id));
        } catch {
          // tried again at the next open
        }
      }
    }
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM project_meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** A path inside the project as stored in the database: relative to the project folder. */
  relative(file: string): string {
    return isAbsolute(file) ? relative(this.dir, file) : file;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  get name(): string {
    return this.meta('name') ?? basename(this.dir, PROJECT_EXT);
  }

  classes(): ClassSummary[] {
    return this.db
      .prepare(
        `SELECT c.id, c.name, COUNT(i.id) AS imageCount
         FROM classes c LEFT JOIN images i ON i.class_id = c.id AND i.status = 'ok'
         GROUP BY c.id ORDER BY c.name`,
      )
      .all() as ClassSummary[];
  }

  status(): ProjectStatus {
    const imageCount = (this.db.prepare(`SELECT COUNT(*) AS n FROM images WHERE status = 'ok'`).get() as { n: number }).n;
    return {
      path: this.dir,
      name: this.name,
      createdAt: this.meta('created_at') ?? '',
      schemaVersion: schemaVersion(this.db),
      classes: this.classes(),
      imageCount,
      jobs: this.jobs.list(20),
    };
  }

  close(): void {
    if (this.db.open) {
      if (!this.readOnly) {
        try {
          this.db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // a checkpoint is an optimisation; closing must not fail because of it
        }
      }
      this.db.close();
    }
    this.#lock?.release();
    this.#lock = undefined;
    if (this.#snapshot) rmSync(this.#snapshot, { recursive: true, force: true });
    this.#snapshot = undefined;
  }
}
