import { Button, Group, TextInput } from '@mantine/core';
import { IconFolderOpen } from '@tabler/icons-react';
import type { ReactNode } from 'react';

interface Props {
  label: string;
  description?: ReactNode;
  placeholder?: string;
  value: string;
  error?: string | undefined;
  onChange: (value: string) => void;
  onBlur?: () => void;
  /** Shown only where a native dialog exists (the desktop app). */
  onBrowse?: (() => void) | undefined;
  browseLabel?: string;
  testId: string;
  autoFocus?: boolean;
}

/** A path the person types or pastes, with a Browse button in the desktop app. */
export function PathInput({ label, description, placeholder, value, error, onChange, onBlur, onBrowse, browseLabel, testId, autoFocus }: Props) {
  return (
    <Group align="flex-start" gap="xs" wrap="nowrap">
      <TextInput
        style={{ flex: 1 }}
        label={label}
        description={description}
        placeholder={placeholder}
        value={value}
        error={error}
        onChange={(e) => onChange(e.currentTarget.value)}
        onBlur={onBlur}
        data-testid={testId}
        autoFocus={autoFocus}
        spellCheck={false}
        autoComplete="off"
      />
      {onBrowse && (
        <Button
          variant="default"
          leftSection={<IconFolderOpen size={16} />}
          onClick={onBrowse}
          mt={description ? 44 : 25}
          aria-label={browseLabel ?? `Browse for ${label.toLowerCase()}`}
        >
          Browse…
        </Button>
      )}
    </Group>
  );
}
