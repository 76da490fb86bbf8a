/**
 * One writer per project. A lock file holding the owner's pid and host is created exclusively
 * (O_EXCL); a lock left by a process that no longer runs on this host (kill -9, power loss) is
 * taken over, so a crash never locks a person out of their project.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';

export const LOCK_FILE = 'lock.json';

export interface LockInfo {
  pid: number;
  host: string;
  since: string; // ISO time
  purpose: string; // "serve", "import", "desktop app"
}

export interface ProjectLock {
  readonly info: LockInfo;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null; // unreadable or half-written: treated as stale below
  }
}

export function acquireLock(projectDir: string, purpose: string): ProjectLock {
  const file = join(projectDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), purpose };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw err;
      const holder = readLock(file);
      const stale = holder === null || (holder.host === info.host && holder.pid !== process.pid && !isAlive(holder.pid));
      if (stale && attempt === 0) {
        rmSync(file, { force: true });
        continue;
      }
      if (holder && holder.pid === process.pid && holder.host === info.host) {
        throw new AppError('locked', 'This project is already open in this window.');
      }
      const since = holder ? new Date(holder.since).toLocaleString() : 'an unknown time';
      const who = holder ? `${holder.purpose} (process ${holder.pid} on ${holder.host}, since ${since})` : 'another program';
      throw new AppError(
        'locked',
        `This project is in use by ${who}. Close it there, or wait for that task to finish, then try again. Nothing was changed.`,
      );
    }
    try {
      writeSync(fd, JSON.stringify(info));
    } catch (err) {
      // a full disk: no empty lock file left behind (it would pass for a lock of someone unknown)
      closeSync(fd);
      rmSync(file, { force: true });
      throw err;
    }
    closeSync(fd);
    let released = false;
    return {
      info,
      release() {
        if (released) return;
        released = true;
        const holder = readLock(file);
        if (holder && holder.pid === info.pid && holder.since === info.since) rmSync(file, { force: true });
      },
    };
  }
  throw new AppError('locked', 'The project lock could not be taken. Try again.');
}
