import { useCallback, useState } from 'react';

/**
 * A form field's state that survives leaving the screen and coming back in the same window: kept in
 * sessionStorage (gone with the window), under one key per form, project and field. Only what the
 * person sets is stored: a field never touched takes its `initial` again on the next visit (which may
 * differ by then: a class imported since can change the suggested DiffAugment). Values must be JSON.
 */
export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const storageKey = `gan-augment:draft:${key}`;
  const [value, setValue] = useState<T>(() => readDraft(storageKey) ?? initial);
  const set = useCallback(
    (next: T) => {
      setValue(next);
      try {
        window.sessionStorage.setItem(storageKey, JSON.stringify(next));
      } catch {
        // storage full or refused: the field still works, it is only not kept
      }
    },
    [storageKey],
  );
  return [value, set];
}

/** The stored value of a draft field, or undefined (none, or not readable). */
export function readDraft<T>(storageKey: string): T | undefined {
  try {
    const raw = window.sessionStorage.getItem(storageKey);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}
