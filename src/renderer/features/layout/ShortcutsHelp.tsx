import { ActionIcon, Group, Kbd, Popover, Stack, Text } from '@mantine/core';
import { IconKeyboard } from '@tabler/icons-react';
import { SCREENS, shortcutLabel } from './screens';

export function ShortcutsHelp({ isMac }: { isMac: boolean }) {
  return (
    <Popover position="bottom-end" withArrow shadow="md">
      <Popover.Target>
        <ActionIcon variant="default" size="lg" aria-label="Keyboard shortcuts">
          <IconKeyboard size={18} stroke={1.5} />
        </ActionIcon>
      </Popover.Target>
      <Popover.Dropdown>
        <Text fw={600} size="sm" mb="xs">
          Keyboard shortcuts
        </Text>
        <Stack gap={6}>
          {SCREENS.map((s, i) => (
            <Group key={s.id} justify="space-between" gap="xl">
              <Text size="sm">Go to {s.label}</Text>
              <Kbd size="xs">{shortcutLabel(i, isMac)}</Kbd>
            </Group>
          ))}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
