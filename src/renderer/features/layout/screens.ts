/** The project screens in navbar order; Ctrl/Cmd + the position (1..7) switches to each. */
export const SCREENS = [
  { id: 'overview', label: 'Overview' },
  { id: 'import', label: 'Import' },
  { id: 'balance', label: 'Balance' },
  { id: 'training', label: 'Training' },
  { id: 'gallery', label: 'Gallery' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'export', label: 'Export' },
] as const;

export type ScreenId = (typeof SCREENS)[number]['id'];

export const DEFAULT_SCREEN: ScreenId = 'overview';

/** `#/training` -> 'training'; anything unknown -> the Overview, so an old link never shows a blank page. */
export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return SCREENS.find((s) => s.id === id)?.id ?? DEFAULT_SCREEN;
}

export function hashFor(screen: ScreenId): string {
  return `#/${screen}`;
}

/** "Ctrl+1" or "⌘1", for tooltips and the shortcuts list. */
export function shortcutLabel(index: number, isMac: boolean): string {
  return isMac ? `⌘${index + 1}` : `Ctrl+${index + 1}`;
}
