import { useSessionStorage } from '@mantine/hooks';

/**
 * A form field's state that survives leaving the screen and coming back in the same window: kept in
 * sessionStorage (gone with the window), under one key per form, project and field. Values must be
 * JSON (numbers, strings, booleans, arrays of them).
 */
export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useSessionStorage<T>({ key: `gan-augment:draft:${key}`, defaultValue: initial, getInitialValueInEffect: false, sync: false });
  return [value, setValue];
}
