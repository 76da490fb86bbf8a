import { ScreenLink } from './ScreenLink';

/** An in-text link to the Import screen. */
export function GoToImport({ onGoToImport }: { onGoToImport: () => void }) {
  return (
    <ScreenLink screen="import" onGo={onGoToImport}>
      Import
    </ScreenLink>
  );
}
