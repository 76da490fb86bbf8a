import { useCallback, useState } from 'react';

/**
 * What a person has typed into a form, kept in sessionStorage (gone with the window) so that it
 * survives leaving the screen and coming back: one key per form, project and field (`key`). Values
 * must be JSON. Reading or writing never fails the form: storage that refuses only means nothing is kept.
 */
const storageKey = (key: string) => `gan-augment:draft:${key}`;

/** The kept value under `key`, or undefined (none, or not readable). */
export function readDraft<T>(key: string): T | undefined {
  try {
    const raw = window.sessionStorage.getItem(storageKey(key));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}

/** Keeps `value` under `key`; null forgets it. */
export function writeDraft(key: string, value: unknown): void {
  try {
    if (value === null) window.sessionStorage.removeItem(storageKey(key));
    else window.sessionStorage.setItem(storageKey(key), JSON.stringify(value));
  } catch {
    // storage full or refused: the field still works, it is only not kept
  }
}

/**
 * A form field's state, kept (`writeDraft`) when the person sets it. A field never touched takes its
 * `initial` again on the next visit (which may differ by then: a class imported since can change the
 * suggested DiffAugment).
 */
export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => readDraft<T>(key) ?? initial);
  const set = useCallback(
    (next: T) => {
      setValue(next);
      writeDraft(key, next);
    },
    [key],
  );
  return [value, set];
}
