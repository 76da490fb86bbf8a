/**
 * The security decisions of the Electron shell as pure functions: which origins are ours, which
 * IPC senders are trusted, which URLs may leave for the system browser, the Content-Security-
 * Policy, and how an `app://` request maps to a file. No `electron` import here, so
 * security.test.ts checks every rule in plain Node.
 */
import { extname, isAbsolute, join, normalize, relative, sep } from 'node:path';

/**
 * The window's content is served from `app://gan-augment/` (a privileged, standard, secure custom
 * scheme) rather than file://. Why: file:// pages have an opaque origin and can read any file
 * the user can, so "same origin" checks on navigation and IPC senders would mean nothing and
 * CSP 'self' would cover the whole disk. A standard scheme gives the renderer a real origin of
 * its own that the IPC sender check, the navigation guard and CSP can all name, and the
 * protocol handler serves only files inside out/renderer.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'gan-augment';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * `scheme://host[:port]` of a URL, or null when it has none we could trust (file:, data:,
 * about:, blob:, garbage). Node's `URL.origin` is "null" for non-special schemes such as app:,
 * hence this helper.
 */
export function originOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== `${APP_SCHEME}:`) return null;
  if (!u.host) return null;
  return `${u.protocol}//${u.host}`.toLowerCase();
}

/**
 * The dev server URL electron-vite passes in ELECTRON_RENDERER_URL, accepted only when it is a
 * plain http URL on the loopback interface (nobody should point the shell at a remote page).
 */
export function parseDevServerUrl(raw: string | undefined): string | null {
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password) return null;
  if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return null;
  return u.toString();
}

/** The origins the window may show and that may talk to main over IPC. */
export function allowedOrigins(devServerUrl: string | null): string[] {
  const origins = [APP_ORIGIN];
  const dev = devServerUrl ? originOf(devServerUrl) : null;
  if (dev) origins.push(dev);
  return origins;
}

export function isAllowedOrigin(url: string, origins: readonly string[]): boolean {
  const o = originOf(url);
  return o !== null && origins.includes(o);
}

/** What ipc.ts knows about the sender of a `gan:call`. */
export interface SenderInfo {
  /** event.sender is the main window's webContents. */
  fromMainWindow: boolean;
  /** event.senderFrame is that window's top frame (not an iframe). */
  topFrame: boolean;
  /** event.senderFrame.url; null when the frame is gone (navigated away or destroyed). */
  frameUrl: string | null;
}

export function isTrustedSender(sender: SenderInfo, origins: readonly string[]): boolean {
  return sender.fromMainWindow && sender.topFrame && sender.frameUrl !== null && isAllowedOrigin(sender.frameUrl, origins);
}

/**
 * Links that may be handed to the system browser: http(s) only, with a host and no embedded
 * credentials. Everything else (file:, javascript:, smb:, custom app schemes, ms-*: handlers)
 * is refused, since shell.openExternal on those can run programs.
 */
export function isSafeExternalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (!u.hostname || u.username || u.password) return false;
  return url.length <= 2048;
}

/**
 * Permissions the window may have. Everything is denied (camera, microphone, geolocation,
 * notifications, HID/USB/serial, fullscreen requests from script, ...) except writing text to
 * the clipboard from our own origin, which copy buttons need.
 */
export function isPermissionAllowed(permission: string, requestingUrl: string, origins: readonly string[]): boolean {
  return permission === 'clipboard-sanitized-write' && isAllowedOrigin(requestingUrl, origins);
}

/**
 * The Content-Security-Policy for the window. Production: scripts only from our origin, no eval,
 * no inline script; inline styles are allowed because Mantine and React set `style` attributes;
 * images from our origin and data:/blob: URLs (thumbnails, charts); nothing may be framed,
 * posted or fetched elsewhere. Dev: also the Vite dev server and its HMR WebSocket, and inline
 * script for the React refresh preamble that Vite injects.
 */
export function buildCsp(options: { devServerUrl?: string | null } = {}): string {
  const dev = options.devServerUrl ? originOf(options.devServerUrl) : null;
  const devWs = dev ? dev.replace(/^http/, 'ws') : null;
  const extra = (...xs: (string | null)[]) => xs.filter((x): x is string => x !== null);
  const directives: [string, string[]][] = [
    ['default-src', ["'none'"]],
    ['script-src', ["'self'", ...extra(dev, dev ? "'unsafe-inline'" : null)]],
    ['style-src', ["'self'", "'unsafe-inline'", ...extra(dev)]],
    ['img-src', ["'self'", 'data:', 'blob:', ...extra(dev)]],
    ['font-src', ["'self'", 'data:', ...extra(dev)]],
    ['connect-src', ["'self'", ...extra(dev, devWs)]],
    ['worker-src', ["'self'", 'blob:']],
    ['manifest-src', ["'self'"]],
    ['media-src', ["'self'", 'blob:']],
    ['object-src', ["'none'"]],
    ['frame-src', ["'none'"]],
    ['child-src', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
  ];
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');
}

/**
 * Maps an `app://gan-augment/...` request to a file inside `rootDir` (out/renderer), or null when
 * the request is for another host, escapes the root (../, encoded %2e%2e, absolute or UNC paths,
 * NUL bytes), or cannot be decoded. `/` serves index.html. Existence is checked by the caller.
 */
export function resolveAppFile(rootDir: string, requestUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(requestUrl);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host.toLowerCase() !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  if (pathname === '' || pathname === '/') pathname = '/index.html';
  const rel = normalize(pathname.replace(/^\/+/, ''));
  if (rel === '.' || rel.startsWith('..') || isAbsolute(rel)) return null;
  const file = join(rootDir, rel);
  const back = relative(rootDir, file);
  if (back === '' || back.startsWith('..') || isAbsolute(back) || back.split(sep).includes('..')) return null;
  return file;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Content-Type for a renderer file; module scripts need an exact JavaScript MIME type. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers every response from the app:// handler carries. */
export function appResponseHeaders(file: string, csp: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}
