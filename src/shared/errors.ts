/**
 * Errors cross process boundaries as data. `kind` is a closed union that the UI turns into a
 * sentence; `message` is already written for a person (no stack traces, no error codes).
 */
export type ErrorKind =
  | 'validation' // input failed the contract's schema; `field` names the offending field
  | 'not-found' // a file, folder, project, job or class that does not exist
  | 'not-a-project' // a folder that is not a GAN Augment project
  | 'newer-version' // project written by a newer version of the app; refused, never touched
  | 'locked' // another process is writing this project
  | 'read-only' // the folder or disk refuses writes
  | 'damaged' // a file the project made (a training copy, a checkpoint) was changed or damaged outside the app
  | 'disk-full' // no space left on the device
  | 'out-of-memory' // the GPU (or the worker's heap) ran out of memory; the message suggests a smaller batch or resolution
  | 'device-lost' // the GPU stopped (driver reset, device removed) during the task; the next task gets a new device
  | 'no-project' // a project-scoped call while no project is open
  | 'conflict' // the request contradicts the current state (e.g. cancel a finished job)
  | 'unsupported' // not available in this mode (e.g. a native dialog in the browser)
  | 'cancelled'
  | 'unauthorized'
  | 'internal'; // a bug: the message says so and asks for a report

export interface AppErrorData {
  kind: ErrorKind;
  message: string;
  /** Dotted path of the invalid field, for `validation`. */
  field?: string;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;
  constructor(kind: ErrorKind, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.field = options?.field;
  }
  toData(): AppErrorData {
    return this.field === undefined
      ? { kind: this.kind, message: this.message }
      : { kind: this.kind, message: this.message, field: this.field };
  }
}

/** A short title for each kind, shown above the message in notifications. */
/** An error as one line, "Title: message", where the message is not just the title again ("Cancelled."). */
export function errorLine(e: { kind: ErrorKind; message: string }): string {
  const title = errorTitle(e.kind);
  return e.message.replace(/\.$/, '') === title ? e.message : `${title}: ${e.message}`;
}

export function errorTitle(kind: ErrorKind): string {
  switch (kind) {
    case 'validation':
      return 'Please check your input';
    case 'not-found':
      return 'Not found';
    case 'not-a-project':
      return 'Not a GAN Augment project';
    case 'newer-version':
      return 'Made by a newer version';
    case 'locked':
      return 'Project in use';
    case 'read-only':
      return 'Cannot write here';
    case 'damaged':
      return 'A project file is damaged';
    case 'disk-full':
      return 'Disk full';
    case 'out-of-memory':
      return 'Out of memory';
    case 'device-lost':
      return 'The GPU stopped';
    case 'no-project':
      return 'No project open';
    case 'conflict':
      return 'Not possible right now';
    case 'unsupported':
      return 'Not available here';
    case 'cancelled':
      return 'Cancelled';
    case 'unauthorized':
      return 'Not authorised';
    case 'internal':
      return 'Something went wrong';
  }
}

/** Turns anything thrown into error data a person can read. */
export function toErrorData(err: unknown): AppErrorData {
  if (err instanceof AppError) return err.toData();
  if (isErrorData(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  // SQLITE_FULL: SQLite's word for ENOSPC (better-sqlite3 puts it in `code`); SQLITE_READONLY*: a file it may not write.
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL')
    return { kind: 'disk-full', message: 'The disk is full. Free some space and try again; nothing was lost.' };
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || (typeof code === 'string' && code.startsWith('SQLITE_READONLY')))
    return { kind: 'read-only', message: 'This location cannot be written to. Choose a folder you can write to.' };
  if (code === 'ENOENT') return { kind: 'not-found', message: 'A file or folder that was needed does not exist.' };
  const detail = err instanceof Error ? err.message : String(err);
  return { kind: 'internal', message: `Something unexpected went wrong (${detail}). Your project was not changed by this step.` };
}

export function isErrorData(v: unknown): v is AppErrorData {
  return typeof v === 'object' && v !== null && typeof (v as AppErrorData).kind === 'string' && typeof (v as AppErrorData).message === 'string';
}
