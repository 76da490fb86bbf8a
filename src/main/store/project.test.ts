import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallDisk, type SmallDisk } from '../../../test/helpers/small-disk';
import { useTmp } from '../../../test/helpers/tmp';
import { acquireLock, LOCK_FILE } from './lock';
import { LATEST_VERSION } from './migrations';
import { DB_FILE, Project } from './project';

const tmp = useTmp();
const isRoot = process.getuid?.() === 0;
const readOnlyDir = mkdtempSync(join(tmpdir(), 'gan-augment-ro-disk-'));
const readOnlyDisk = mountSmallDisk(readOnlyDir, 4);
// top level: runs even when the read-only tests are filtered out
afterAll(() => {
  if (typeof readOnlyDisk !== 'string') readOnlyDisk.unmount();
  rmSync(readOnlyDir, { recursive: true, force: true });
});

describe('Project store', () => {
  it('creates <name>.ganaug with WAL, foreign keys, the latest schema and metadata', () => {
    const parent = tmp();
    const p = Project.create(parent, 'Skin lesions');
    expect(p.dir).toBe(join(parent, 'Skin lesions.ganaug'));
    expect(p.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(p.db.pragma('foreign_keys', { simple: true })).toBe(1);
    const s = p.status();
    expect(s).toMatchObject({ name: 'Skin lesions', schemaVersion: LATEST_VERSION, imageCount: 0, classes: [] });
    p.close();
    expect(readdirSync(parent)).toEqual(['Skin lesions.ganaug']); // no temp folder left
    expect(existsSync(join(p.dir, LOCK_FILE))).toBe(false); // lock released on close
  });

  it('refuses to create over an existing folder, naming the field', () => {
    const parent = tmp();
    mkdirSync(join(parent, 'x.ganaug'));
    expect(() => Project.create(parent, 'x')).toThrow(expect.objectContaining({ kind: 'conflict', field: 'name' }));
  });

  it.skipIf(isRoot)('refuses a read-only parent folder and leaves nothing behind (skipped when run as root, whom permissions do not stop)', () => {
    const parent = tmp();
    chmodSync(parent, 0o555);
    try {
      expect(() => Project.create(parent, 'p')).toThrow(expect.objectContaining({ kind: 'read-only' }));
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      chmodSync(parent, 0o755);
    }
  });

  describe.skipIf(typeof readOnlyDisk === 'string')(`on a read-only disk${typeof readOnlyDisk === 'string' ? ` (skipped: ${readOnlyDisk})` : ''}`, () => {
    const disk = readOnlyDisk as SmallDisk;

    it('refuses to create a project there, in words, and to open one for changes; status still reads it', () => {
      const p = Project.create(disk.dir, 'shared');
      p.db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('nevus', new Date().toISOString());
      p.close();
      const before = readdirSync(p.dir).sort();
      disk.setReadOnly(true);
      try {
        expect(() => Project.create(disk.dir, 'new')).toThrow(expect.objectContaining({ kind: 'read-only', message: expect.stringMatching(/cannot be written to/) }));
        expect(() => Project.open(p.dir)).toThrow(expect.objectContaining({ kind: 'read-only', message: expect.stringMatching(/is read-only/) }));
        // SQLite cannot make the shared-memory file a WAL database is read with here: a copy is read.
        const r = Project.openReadOnly(p.dir);
        expect(r.status()).toMatchObject({ name: 'shared', classes: [{ name: 'nevus' }] });
        const copies = () => readdirSync(tmpdir()).filter((f) => f.startsWith('gan-augment-read-only-'));
        expect(copies().length).toBeGreaterThan(0);
        r.close();
        expect(copies()).toEqual([]);
        expect(readdirSync(p.dir).sort()).toEqual(before);
      } finally {
        disk.setReadOnly(false);
      }
    });
  });

  it('says clearly when a folder is not a project, or does not exist', () => {
    const d = tmp();
    expect(() => Project.open(d)).toThrow(expect.objectContaining({ kind: 'not-a-project' }));
    expect(() => Project.open(join(d, 'missing'))).toThrow(expect.objectContaining({ kind: 'not-found' }));
    writeFileSync(join(d, DB_FILE), 'this is not sqlite at all, just text that is long enough to look like a header......');
    expect(() => Project.open(d)).toThrow(expect.objectContaining({ kind: 'not-a-project' }));
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });

  it('refuses a project written by a newer version without changing a byte', () => {
    const p = Project.create(tmp(), 'future');
    p.close();
    const raw = new Database(join(p.dir, DB_FILE));
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    const before = readdirSync(p.dir).sort();
    expect(() => Project.open(p.dir)).toThrow(expect.objectContaining({ kind: 'newer-version', message: expect.stringContaining('newer version') }));
    expect(() => Project.openReadOnly(p.dir)).toThrow(expect.objectContaining({ kind: 'newer-version' }));
    expect(readdirSync(p.dir).sort()).toEqual(before);
    const check = new Database(join(p.dir, DB_FILE), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 1);
    check.close();
  });

  it('lets one writer at a time in, and a reader any time', () => {
    const p = Project.create(tmp(), 'locked');
    expect(() => acquireLock(p.dir, 'second process')).toThrow(expect.objectContaining({ kind: 'locked' }));
    const reader = Project.openReadOnly(p.dir);
    expect(reader.status().name).toBe('locked');
    reader.close();
    p.close();
    const again = Project.open(p.dir);
    again.close();
  });

  it('takes over a lock left by a process that no longer exists (kill -9)', () => {
    const p = Project.create(tmp(), 'stale');
    p.close();
    writeFileSync(join(p.dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: new Date().toISOString(), purpose: 'dead' }));
    const reopened = Project.open(p.dir);
    reopened.close();
  });

  it('marks jobs a dead process left running as interrupted on the next open', () => {
    const p = Project.create(tmp(), 'jobs');
    p.jobs.insert({ id: 'j1', type: 'verify', title: 'Verify', params: {}, unit: 'files' });
    p.jobs.setStatus('j1', 'running');
    p.close();
    const q = Project.open(p.dir);
    expect(q.jobs.get('j1')).toMatchObject({ status: 'interrupted', message: expect.stringContaining('closed while') });
    q.close();
  });
});
