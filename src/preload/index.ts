/**
 * The preload (out/preload/index.cjs, CommonJS, sandboxed). It exposes exactly one thing to the
 * window: `window.ganAugment`, the PreloadBridge. No ipcRenderer, no event objects, no Node API
 * reach the page; the bridge passes plain data only.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { PreloadBridge } from '../shared/contract';

// Keep in sync with src/main/electron/ipc.ts (not imported: the preload bundle stays tiny).
const CALL_CHANNEL = 'gan:call';
const EVENT_CHANNEL = 'gan:event';

const bridge: PreloadBridge = {
  invoke(name: string, input: unknown): Promise<unknown> {
    if (typeof name !== 'string') return Promise.reject(new TypeError('ganAugment.invoke: name must be a string'));
    return ipcRenderer.invoke(CALL_CHANNEL, name, input);
  },
  subscribe(listener: (event: string, payload: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('ganAugment.subscribe: listener must be a function');
    // Strip the IpcRendererEvent: it carries `sender` (ipcRenderer itself).
    const handler = (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (typeof name === 'string') listener(name, payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('ganAugment', bridge);
