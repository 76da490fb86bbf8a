// The Electron shell's security rules, tested in plain Node (policy.ts and native.ts never import
// electron).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ELECTRON_NATIVE_DIR, sqliteNativeBinding, sqliteNativeBindingStatus } from './native';
import {
  allowedOrigins,
  APP_INDEX_URL,
  APP_ORIGIN,
  appResponseHeaders,
  buildCsp,
  contentTypeFor,
  isAllowedOrigin,
  isPermissionAllowed,
  isSafeExternalUrl,
  isTrustedSender,
  originOf,
  parseDevServerUrl,
  resolveAppFile,
} from './policy';

describe('origins', () => {
  it('gives app:// a real origin (Node says "null" for non-special schemes)', () => {
    expect(originOf(APP_INDEX_URL)).toBe('app://gan-augment');
    expect(originOf('app://GAN-AUGMENT/x/y.js?z#w')).toBe('app://gan-augment');
    expect(originOf('http://localhost:5173/src/main.tsx')).toBe('http://localhost:5173');
    for (const u of ['file:///etc/passwd', 'data:text/html,hi', 'about:blank', 'blob:app://gan-augment/1', 'javascript:alert(1)', 'nonsense', ''])
      expect(originOf(u)).toBeNull();
  });

  it('allows the app origin, plus the dev server only when one is given', () => {
    expect(allowedOrigins(null)).toEqual([APP_ORIGIN]);
    const dev = allowedOrigins('http://localhost:5173/');
    expect(dev).toEqual([APP_ORIGIN, 'http://localhost:5173']);
    expect(isAllowedOrigin('app://gan-augment/index.html#/projects', dev)).toBe(true);
    expect(isAllowedOrigin('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isAllowedOrigin('http://localhost:5174/', dev)).toBe(false);
    expect(isAllowedOrigin('https://localhost:5173/', dev)).toBe(false);
    expect(isAllowedOrigin('app://evil/index.html', dev)).toBe(false);
    expect(isAllowedOrigin('app://gan-augment.evil.com/', dev)).toBe(false);
    expect(isAllowedOrigin('file:///work/out/renderer/index.html', dev)).toBe(false);
    expect(isAllowedOrigin('http://localhost:5173/', allowedOrigins(null))).toBe(false);
  });

  it('accepts only a loopback dev server URL', () => {
    expect(parseDevServerUrl(undefined)).toBeNull();
    expect(parseDevServerUrl('')).toBeNull();
    expect(parseDevServerUrl('http://localhost:5173')).toBe('http://localhost:5173/');
    expect(parseDevServerUrl('http://127.0.0.1:5173/')).toBe('http://127.0.0.1:5173/');
    expect(parseDevServerUrl('http://[::1]:5173/')).toBe('http://[::1]:5173/');
    expect(parseDevServerUrl('http://example.com:5173/')).toBeNull();
    expect(parseDevServerUrl('http://user:pw@localhost:5173/')).toBeNull();
    expect(parseDevServerUrl('file:///tmp/index.html')).toBeNull();
    expect(parseDevServerUrl('not a url')).toBeNull();
  });
});

describe('IPC sender check', () => {
  const origins = allowedOrigins(null);
  const good = { fromMainWindow: true, topFrame: true, frameUrl: 'app://gan-augment/index.html' };

  it('trusts the main window top frame on our origin', () => {
    expect(isTrustedSender(good, origins)).toBe(true);
  });

  it('refuses other windows, iframes, destroyed frames and other origins', () => {
    expect(isTrustedSender({ ...good, fromMainWindow: false }, origins)).toBe(false);
    expect(isTrustedSender({ ...good, topFrame: false }, origins)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: null }, origins)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: 'https://example.com/' }, origins)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: 'file:///tmp/x.html' }, origins)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: 'http://localhost:5173/' }, origins)).toBe(false);
  });
});

describe('external links', () => {
  it('lets http(s) links go to the system browser', () => {
    expect(isSafeExternalUrl('https://isic-archive.com/')).toBe(true);
    expect(isSafeExternalUrl('http://example.org/a?b=c')).toBe(true);
  });

  it('refuses everything that could run a program or leak credentials', () => {
    for (const u of [
      'file:///C:/Windows/System32/calc.exe',
      'javascript:alert(1)',
      'smb://host/share',
      'ms-msdt:/id PCWDiagnostic',
      'app://gan-augment/index.html',
      'data:text/html,hi',
      'https://user:pw@example.com/',
      'https://',
      'not a url',
      `https://example.com/${'a'.repeat(3000)}`,
    ])
      expect(isSafeExternalUrl(u), u).toBe(false);
  });
});

describe('permissions', () => {
  const origins = allowedOrigins(null);
  it('denies everything but clipboard writes from our origin', () => {
    expect(isPermissionAllowed('clipboard-sanitized-write', 'app://gan-augment/', origins)).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', 'https://example.com/', origins)).toBe(false);
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'fullscreen', 'openExternal', 'hid', 'serial', 'usb'])
      expect(isPermissionAllowed(p, 'app://gan-augment/', origins), p).toBe(false);
  });
});

describe('Content-Security-Policy', () => {
  const directives = (csp: string) => new Map(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)] as const));

  it('is strict in production', () => {
    const d = directives(buildCsp());
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('connect-src')).toEqual(["'self'"]);
    const csp = buildCsp();
    expect(csp).not.toContain('unsafe-eval');
    expect(d.get('script-src')).not.toContain("'unsafe-inline'");
    expect(csp).not.toMatch(/https?:|ws:/);
  });

  it('admits the dev server and its HMR socket in development only', () => {
    const d = directives(buildCsp({ devServerUrl: 'http://localhost:5173/' }));
    expect(d.get('script-src')).toEqual(["'self'", 'http://localhost:5173', "'unsafe-inline'"]);
    expect(d.get('connect-src')).toEqual(["'self'", 'http://localhost:5173', 'ws://localhost:5173']);
    expect(buildCsp({ devServerUrl: 'http://localhost:5173/' })).not.toContain('unsafe-eval');
  });

  it('goes out with every app:// response', () => {
    const h = appResponseHeaders('/x/index.html', buildCsp());
    expect(h['Content-Security-Policy']).toBe(buildCsp());
    expect(h['Content-Type']).toBe('text/html; charset=utf-8');
    expect(h['X-Content-Type-Options']).toBe('nosniff');
  });
});

describe('app:// to file mapping', () => {
  const root = join(tmpdir(), 'renderer-root');

  it('serves files inside out/renderer, index.html for /', () => {
    expect(resolveAppFile(root, 'app://gan-augment/')).toBe(join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://gan-augment')).toBe(join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://gan-augment/index.html?x=1#/y')).toBe(join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://gan-augment/assets/index-abc.js')).toBe(join(root, 'assets', 'index-abc.js'));
    expect(resolveAppFile(root, 'app://gan-augment/assets/a%20b.png')).toBe(join(root, 'assets', 'a b.png'));
    expect(resolveAppFile(root, 'app://gan-augment/a/../b.css')).toBe(join(root, 'b.css'));
  });

  it('never leaves the root or serves another host', () => {
    for (const u of [
      'app://gan-augment/../secret',
      'app://gan-augment/%2e%2e/secret',
      'app://gan-augment/%2e%2e%2fsecret',
      'app://gan-augment/assets/%2e%2e/%2e%2e/secret',
      'app://gan-augment/..%5csecret',
      'app://gan-augment/%2Fetc%2Fpasswd',
      'app://gan-augment//etc/passwd',
      'app://gan-augment/a%00.js',
      'app://gan-augment/%E0%A4%A',
      'app://other/index.html',
      'file:///etc/passwd',
      'https://gan-augment/index.html',
    ]) {
      const file = resolveAppFile(root, u);
      if (file !== null) expect(file.startsWith(root + sep), `${u} -> ${file}`).toBe(true);
    }
    expect(resolveAppFile(root, 'app://other/index.html')).toBeNull();
    // The URL parser resolves encoded dot segments first (as Chromium does): clamped at the root.
    expect(resolveAppFile(root, 'app://gan-augment/%2e%2e/secret')).toBe(join(root, 'secret'));
    expect(resolveAppFile(root, 'app://gan-augment/assets/%2e%2e%2f%2e%2e%2fsecret')).toBeNull();
    expect(resolveAppFile(root, 'app://gan-augment/..%5csecret')).toBeNull();
    expect(resolveAppFile(root, 'app://gan-augment/a%00.js')).toBeNull();
  });

  it('sends module scripts with a JavaScript MIME type', () => {
    expect(contentTypeFor('a/b.js')).toMatch(/^text\/javascript/);
    expect(contentTypeFor('a/b.CSS')).toMatch(/^text\/css/);
    expect(contentTypeFor('a/b.woff2')).toBe('font/woff2');
    expect(contentTypeFor('a/b.unknown')).toBe('application/octet-stream');
  });
});

describe('better-sqlite3 native binding for Electron', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('is left to electron-builder in a packaged app', () => {
    expect(sqliteNativeBinding({ isPackaged: true, appRoot: '/nowhere' })).toBeUndefined();
    expect(sqliteNativeBindingStatus({ isPackaged: true, appRoot: '/nowhere' }).problem).toBeNull();
  });

  it('uses .electron-native in development, and says what to run when it is missing or stale', () => {
    dir = mkdtempSync(join(tmpdir(), 'native-'));
    const missing = sqliteNativeBindingStatus({ isPackaged: false, appRoot: dir });
    expect(missing.nativeBinding).toBeUndefined();
    expect(missing.problem).toContain('electron-native.mjs');

    mkdirSync(join(dir, ELECTRON_NATIVE_DIR));
    const binding = join(dir, ELECTRON_NATIVE_DIR, 'better_sqlite3.node');
    writeFileSync(binding, 'x');
    expect(sqliteNativeBinding({ isPackaged: false, appRoot: dir })).toBe(binding);

    writeFileSync(join(dir, ELECTRON_NATIVE_DIR, 'build-info.json'), JSON.stringify({ electron: '39.8.9' }));
    expect(sqliteNativeBindingStatus({ isPackaged: false, appRoot: dir, electronVersion: '39.8.9' })).toEqual({ nativeBinding: binding, problem: null });
    const stale = sqliteNativeBindingStatus({ isPackaged: false, appRoot: dir, electronVersion: '40.0.0' });
    expect(stale.nativeBinding).toBe(binding);
    expect(stale.problem).toContain('built for Electron 39.8.9');
  });
});
