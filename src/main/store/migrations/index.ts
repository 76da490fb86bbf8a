import { migration001 } from './001-initial';
import { migration002 } from './002-import';
import { migration003 } from './003-training';
import { migration004 } from './004-run-batch';
import type { Migration } from './types';

/** Every migration, in order. Append only: a released migration is never edited. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004];
export const LATEST_VERSION = MIGRATIONS.length;
export type { Migration };
