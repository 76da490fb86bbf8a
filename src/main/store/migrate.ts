import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { LATEST_VERSION, MIGRATIONS } from './migrations';

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema to `target` (default: latest), one migration per transaction, so a failure
 * leaves the database at the last completed version. A database newer than this app is refused
 * before anything is written.
 */
export function migrate(db: Database.Database, target = LATEST_VERSION): number {
  const current = schemaVersion(db);
  if (current > LATEST_VERSION) throw newerVersionError(current);
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return schemaVersion(db);
}

export function newerVersionError(version: number): AppError {
  return new AppError(
    'newer-version',
    `This project was saved by a newer version of GAN Augment (project format ${version}; this app understands up to ${LATEST_VERSION}). ` +
      'Update GAN Augment to open it. The project was not changed.',
  );
}
