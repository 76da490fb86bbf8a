import { Text } from '@mantine/core';

/** An in-text link to the Import screen (keeps the hash route for a reload, navigates in-app). */
export function GoToImport({ onGoToImport }: { onGoToImport: () => void }) {
  return (
    <Text
      component="a"
      href="#/import"
      inherit
      c="blue"
      onClick={(e) => {
        e.preventDefault();
        onGoToImport();
      }}
    >
      Import
    </Text>
  );
}
