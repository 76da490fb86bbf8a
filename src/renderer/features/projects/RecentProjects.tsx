import { ActionIcon, Badge, Button, Group, Paper, Stack, Text, Tooltip } from '@mantine/core';
import { IconFolderOff, IconX } from '@tabler/icons-react';
import type { RecentProject } from '../../../shared/contract';
import { formatAgo } from '../jobs/format';

interface Props {
  projects: readonly RecentProject[];
  openingPath: string | null;
  onOpen: (path: string) => void;
  onForget: (project: RecentProject) => void;
}

export function RecentProjects({ projects, openingPath, onOpen, onForget }: Props) {
  return (
    <Stack gap="xs" component="ul" p={0} m={0} style={{ listStyle: 'none' }} aria-label="Recent projects">
      {projects.map((p) => (
        <Paper
          key={p.path}
          component="li"
          withBorder
          radius="md"
          p="sm"
          data-testid="recent-project"
          data-available={p.available}
          style={p.available ? undefined : { opacity: 0.6 }}
        >
          <Group justify="space-between" wrap="nowrap" gap="sm">
            <div style={{ minWidth: 0 }}>
              <Group gap="xs" wrap="nowrap">
                <Text fw={600} truncate>
                  {p.name}
                </Text>
                {!p.available && (
                  <Badge color="gray" variant="light" leftSection={<IconFolderOff size={12} />}>
                    Folder not found
                  </Badge>
                )}
              </Group>
              <Text size="xs" c="dimmed" truncate title={p.path}>
                {p.path}
              </Text>
              <Text size="xs" c="dimmed">
                Opened {formatAgo(p.lastOpenedAt)}
              </Text>
            </div>
            <Group gap="xs" wrap="nowrap">
              <Button
                size="xs"
                variant="light"
                disabled={!p.available || (openingPath !== null && openingPath !== p.path)}
                loading={openingPath === p.path}
                onClick={() => onOpen(p.path)}
                aria-label={`Open ${p.name}`}
              >
                Open
              </Button>
              <Tooltip label="Remove from this list (the folder is not deleted)">
                <ActionIcon variant="subtle" color="gray" aria-label={`Remove ${p.name} from the list`} onClick={() => onForget(p)}>
                  <IconX size={16} />
                </ActionIcon>
              </Tooltip>
            </Group>
          </Group>
        </Paper>
      ))}
    </Stack>
  );
}
