import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useTmp } from '../../../test/helpers/tmp';
import { AppSession } from '../services/session';
import { nodeWorkerLauncher } from '../worker-host';
import { startServer, type RunningServer } from './server';

const tmp = useTmp();
const open: { server: RunningServer; session: AppSession }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.server.close();
    await o.session.dispose();
  }
});

async function serve() {
  const staticDir = tmp();
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>GAN Augment</title>');
  mkdirSync(join(staticDir, 'assets'));
  writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  const session = new AppSession({ mode: 'web', launchWorker: nodeWorkerLauncher, home: tmp() });
  const server = await startServer({ session, staticDir });
  open.push({ server, session });
  return { server, session, base: `http://127.0.0.1:${server.port}` };
}

const call = (base: string, name: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/call/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('browser-mode server', () => {
  it('prints a loopback URL with a long random token', async () => {
    const { server } = await serve();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses calls without the token or with a wrong one (401) and runs nothing', async () => {
    const { base, server, session } = await serve();
    const parent = tmp();
    const noToken = await call(base, 'projects.create', { parentDir: parent, name: 'x' });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
    const wrong = await call(base, 'projects.create', { parentDir: parent, name: 'x' }, { authorization: `Bearer ${server.token.slice(1)}x` });
    expect(wrong.status).toBe(401);
    expect(session.project).toBeUndefined();
  });

  it('dispatches calls with the token, returning results and validation errors as data', async () => {
    const { base, server } = await serve();
    const auth = { authorization: `Bearer ${server.token}` };
    const info = await call(base, 'app.info', {}, auth);
    expect(await info.json()).toMatchObject({ ok: true, value: { name: 'GAN Augment', mode: 'web' } });
    const bad = await call(base, 'projects.open', { path: 7 }, auth);
    expect(await bad.json()).toMatchObject({ ok: false, error: { kind: 'validation', field: 'path' } });
    const notJson = await fetch(`${base}/api/call/app.info`, { method: 'POST', headers: auth, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('refuses other Host headers (DNS rebinding) even with the token', async () => {
    const { server } = await serve();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/api/call/app.info', method: 'POST', headers: { host: 'evil.example:80', authorization: `Bearer ${server.token}` } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });

  it('serves the app with security headers, and never a file outside its folder', async () => {
    const { base } = await serve();
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${base}/assets/app.js`)).headers.get('content-type')).toContain('javascript');
    const traversal = await fetch(`${base}/..%2f..%2fetc%2fpasswd`);
    expect(await traversal.text()).not.toContain('root:');
  });

  it('streams events over a WebSocket that needs the token', async () => {
    const { base, server } = await serve();
    const wsBase = base.replace('http', 'ws');
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${wsBase}/api/events`);
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('opened'));
      ws.on('error', () => resolve('error'));
    });
    expect(refused).toBe('401');

    const ws = new WebSocket(`${wsBase}/api/events?token=${server.token}`);
    await new Promise((r) => ws.on('open', r));
    const got = new Promise<{ event: string; payload: { name: string } }>((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
    await call(base, 'projects.create', { parentDir: tmp(), name: 'evented' }, { authorization: `Bearer ${server.token}` });
    expect(await got).toMatchObject({ event: 'project.changed', payload: { name: 'evented' } });
    ws.close();
  });
});
