import type { PreloadBridge } from '../shared/contract';

declare global {
  interface Window {
    /** Set by the Electron preload; undefined in the browser mode. */
    ganAugment?: PreloadBridge;
  }
}

export {};
