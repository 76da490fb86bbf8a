import { useCallback, useSyncExternalStore } from 'react';
import { hashFor, screenFromHash, type ScreenId } from './screens';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

/** The current screen lives in the URL hash, so a reload keeps it. Returns `[screen, go]`. */
export function useHashScreen(): [ScreenId, (screen: ScreenId) => void] {
  const screen = useSyncExternalStore(subscribe, () => screenFromHash(window.location.hash));
  const go = useCallback((next: ScreenId) => {
    if (window.location.hash !== hashFor(next)) window.location.hash = hashFor(next);
  }, []);
  return [screen, go];
}
