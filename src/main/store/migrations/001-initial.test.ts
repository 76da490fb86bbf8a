import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../migrate';

describe('migration 001 (0 -> 1)', () => {
  it('creates the foundation tables from an empty database and enforces their constraints', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    expect(schemaVersion(db)).toBe(0);
    expect(migrate(db, 1)).toBe(1);
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['classes', 'images', 'jobs', 'project_meta']);

    const now = new Date().toISOString();
    db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('melanoma', now);
    const insertImage = db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (?, ?, ?, ?)');
    insertImage.run(1, 'abc', '/data/a.jpg', now);
    // the same content twice in one class is refused; a class that does not exist is refused
    expect(() => insertImage.run(1, 'abc', '/data/b.jpg', now)).toThrow(/UNIQUE/);
    expect(() => insertImage.run(99, 'def', '/data/c.jpg', now)).toThrow(/FOREIGN KEY/);
    expect(() =>
      db.prepare(`INSERT INTO jobs (id, type, title, status, created_at, updated_at) VALUES ('j', 'verify', 't', 'bogus', ?, ?)`).run(now, now),
    ).toThrow(/CHECK/);
    db.close();
  });
});
