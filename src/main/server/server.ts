/**
 * The browser mode: the same contract over loopback HTTP (calls) and WebSocket (events), guarded by
 * a random token. Binds 127.0.0.1 unless a host is given. Serves the built renderer (out/web).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallResult } from '../../shared/contract';
import type { AppSession } from '../services/session';

export interface ServeOptions {
  session: AppSession;
  staticDir: string;
  port?: number; // 0 or absent: a free port
  host?: string; // default 127.0.0.1
  token?: string; // default: 32 random bytes, base64url
}

export interface RunningServer {
  url: string; // with the token: what the person opens
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // Mantine injects <style> elements at run time
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function requestToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return url.searchParams.get('token');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

function unauthorized(res: ServerResponse): void {
  const body: CallResult<never> = {
    ok: false,
    error: { kind: 'unauthorized', message: 'This address needs the access token. Open the full link that GAN Augment printed.' },
  };
  sendJson(res, 401, body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('too-large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const staticRoot = resolve(opts.staticDir);
  const sockets = new Set<WebSocket>();
  let port = 0;

  /** Only our own origin may call: defends against DNS rebinding and cross-site requests. */
  const loopbackOnly = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const hostAllowed = (req: IncomingMessage): boolean => {
    // Bound to another interface on purpose (--host): other machines' names for us are unknown, the token guards.
    if (!loopbackOnly) return true;
    const h = req.headers.host;
    if (!h) return false;
    const allowed = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`]);
    if (!allowed.has(h)) return false;
    const origin = req.headers.origin;
    return origin === undefined || origin === 'null' ? origin === undefined : allowed.has(origin.replace(/^https?:\/\//, ''));
  };

  const serveStatic = (url: URL, res: ServerResponse) => {
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = normalize(join(staticRoot, rel));
    if (!file.startsWith(staticRoot + sep) && file !== staticRoot) {
      res.writeHead(404).end();
      return;
    }
    const target = existsSync(file) && statSync(file).isFile() ? file : join(staticRoot, 'index.html');
    if (!existsSync(target)) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The app has not been built yet. Run "npm run build" and start again.');
      return;
    }
    const isHtml = extname(target) === '.html';
    res.writeHead(200, {
      'content-type': MIME[extname(target)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer', // the token is in the page URL
      'x-frame-options': 'DENY',
      'cache-control': isHtml ? 'no-store' : 'public, max-age=3600',
      ...(isHtml ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
    });
    createReadStream(target).pipe(res);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://placeholder');
      if (!hostAllowed(req)) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('Forbidden');
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        if (!tokenMatches(requestToken(req, url), token)) return unauthorized(res);
        const m = /^\/api\/call\/([A-Za-z.]+)$/.exec(url.pathname);
        if (!m || req.method !== 'POST') return sendJson(res, 404, { ok: false, error: { kind: 'not-found', message: 'No such call.' } });
        let input: unknown;
        try {
          const body = await readBody(req);
          input = body.trim() === '' ? {} : JSON.parse(body);
        } catch {
          return sendJson(res, 400, { ok: false, error: { kind: 'validation', message: 'The request body is not valid JSON.' } });
        }
        const result = await opts.session.dispatch(m[1]!, input);
        return sendJson(res, 200, result);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      serveStatic(url, res);
    })().catch((err: unknown) => {
      console.error('[gan-augment] request failed:', err);
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { kind: 'internal', message: 'The server could not answer.' } });
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname !== '/api/events' || !hostAllowed(req) || !tokenMatches(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    });
  });

  const unsubscribe = opts.session.onEvent((event, payload) => {
    const text = JSON.stringify({ event, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
