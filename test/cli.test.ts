/**
 * The CLI as a user runs it: the built bin/gan-augment.js in a child process, on real projects.
 * `npm test` builds first; run `npm run build` before running this file alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../src/main/store/migrations';
import { useTmp } from './helpers/tmp';

const root = join(__dirname, '..');
const bin = join(root, 'bin', 'gan-augment.js');
const tmp = useTmp();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

beforeAll(() => {
  if (!existsSync(join(root, 'out', 'main', 'cli.js'))) throw new Error('Build first: npm run build');
});

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GAN_AUGMENT_HOME: tmp(), ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running CLI command and resolves once its output matches `ready`. */
function start(args: string[], ready: RegExp, stream: 'stdout' | 'stderr' = 'stdout') {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, GAN_AUGMENT_HOME: tmp() } });
  children.push(child);
  let out = '';
  const matched = new Promise<RegExpExecArray>((resolve, reject) => {
    child[stream].on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready: ${out}`)));
  });
  return { child, matched };
}

describe('gan-augment CLI', () => {
  it('prints its version and help', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(cli(['--version']).stdout.trim()).toBe(pkg.version);
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['init', 'status', 'serve', 'verify']) expect(help.stdout).toContain(c);
    expect(cli(['frobnicate']).code).toBe(2);
  });

  it('init creates a project that status reports, as text and JSON', () => {
    const dir = tmp();
    const init = cli(['init', join(dir, 'Dermoscopy')]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('Dermoscopy.ganaug');
    const status = cli(['status', join(dir, 'Dermoscopy.ganaug'), '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'Dermoscopy', imageCount: 0, classes: [], schemaVersion: LATEST_VERSION });
    expect(cli(['status', join(dir, 'Dermoscopy')]).stdout).toContain('none yet (import images first)');
    expect(cli(['init', join(dir, 'Dermoscopy')])).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
  });

  it('explains a folder that is not a project, and one that does not exist', () => {
    const dir = tmp();
    expect(cli(['status', dir])).toMatchObject({ code: 1, stderr: expect.stringContaining('is not a GAN Augment project') });
    expect(cli(['status', join(dir, 'nope')])).toMatchObject({ code: 1, stderr: expect.stringContaining('There is no folder') });
    const r = cli(['status', dir, '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { kind: 'not-a-project' } });
  });

  it('refuses a second writer while serve holds the project, and lets readers in', async () => {
    const dir = tmp();
    cli(['init', join(dir, 'p')]);
    const project = join(dir, 'p.ganaug');
    const server = start(['serve', project], /token=\S+/);
    await server.matched;
    const second = cli(['verify', project]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/in use by GAN Augment \(browser mode\) \(process \d+/);
    expect(cli(['status', project, '--json']).code).toBe(0);
  });

  it('serve prints a token URL; requests without the token get 401', async () => {
    const { matched } = start(['serve', '--port', '0'], /http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+)/);
    const m = await matched;
    const base = `http://127.0.0.1:${m[1]}`;
    expect((await fetch(`${base}/api/call/app.info`, { method: 'POST', body: '{}' })).status).toBe(401);
    const ok = await fetch(`${base}/api/call/app.info`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${m[2]}` } });
    expect(await ok.json()).toMatchObject({ ok: true, value: { mode: 'web' } });
  });

  it('after kill -9 mid-job the project opens again and the job shows as interrupted', async () => {
    const dir = tmp();
    cli(['init', join(dir, 'k')]);
    const project = join(dir, 'k.ganaug');
    // enough files that verifying them takes a few seconds
    const db = new Database(join(project, 'project.sqlite'));
    const now = new Date().toISOString();
    db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('c', now);
    const ins = db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (1, ?, ?, ?)');
    mkdirSync(join(dir, 'files'));
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) {
        const f = join(dir, 'files', `${i}.bin`);
        writeFileSync(f, Buffer.alloc(64 * 1024, i % 251));
        ins.run(String(i), f, now);
      }
    })();
    db.close();
    // killed as soon as the job is recorded: it is queued or running in the database at that moment
    const { child, matched } = start(['verify', project], /Verify project files/, 'stderr');
    await matched;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const again = cli(['verify', project, '--json']);
    expect(again.code).toBe(0);
    const status = JSON.parse(cli(['status', project, '--json']).stdout) as { jobs: { status: string }[] };
    expect(status.jobs.map((j) => j.status)).toEqual(['completed', 'interrupted']);
  });
});
