import { Button, Card, Collapse, Container, EmptyState, Group, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { IconFolderSearch, IconFolders } from '@tabler/icons-react';
import { useState } from 'react';
import type { ProjectStatus, RecentProject } from '../../../shared/contract';
import { useCall, useClient } from '../../api/hooks';
import { ThemeToggle } from '../../components/ThemeToggle';
import { notifyError } from '../../lib/notify';
import { CreateProjectForm } from './CreateProjectForm';
import { OpenExistingForm } from './OpenExistingForm';
import { RecentProjects } from './RecentProjects';
import { useFolderPicker } from './useFolderPicker';

/** Shown while no project is open: create one, reopen a recent one, or open one by path. */
export function ProjectsScreen({ onOpened }: { onOpened: (project: ProjectStatus) => void }) {
  const client = useClient();
  const [info] = useCall('app.info', {});
  const [recent, { setData: setRecent, reload: reloadRecent }] = useCall('projects.recent', {});
  const [pickerAvailable, pickFolder] = useFolderPicker();
  // Only the desktop app has a native folder dialog: in the browser the path is typed (as on Import).
  const canBrowse = info.data?.mode === 'electron' && pickerAvailable;
  const [openingPath, setOpeningPath] = useState<string | null>(null);
  const [showOpen, setShowOpen] = useState(false);

  const openRecent = async (path: string) => {
    setOpeningPath(path);
    try {
      onOpened(await client.call('projects.open', { path }));
    } catch (err) {
      notifyError(err);
      reloadRecent(); // the folder may have gone since the list was loaded
    } finally {
      setOpeningPath(null);
    }
  };

  const forget = async (project: RecentProject) => {
    try {
      await client.call('projects.forget', { path: project.path });
      setRecent((recent.data ?? []).filter((p) => p.path !== project.path));
    } catch (err) {
      notifyError(err);
    }
  };

  const projects = recent.data ?? [];
  return (
    <Container size="lg" py="xl" component="main">
      <Stack gap="xl">
        <Group justify="space-between" align="flex-start">
          <div>
            <Title order={1}>GAN Augment</Title>
            <Text c="dimmed">
              Balance the rare classes of a medical image dataset with generated images, and check that they help.
            </Text>
          </div>
          <ThemeToggle />
        </Group>

        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
          <CreateProjectForm
            defaultParentDir={info.data?.defaultProjectsDir ?? ''}
            canBrowse={canBrowse}
            pickFolder={pickFolder}
            onOpened={onOpened}
          />

          <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="recent-title">
            <Stack gap="md">
              <Group justify="space-between">
                <Title order={2} size="h3" id="recent-title">
                  Recent projects
                </Title>
                <Button
                  variant="subtle"
                  size="sm"
                  leftSection={<IconFolderSearch size={16} />}
                  onClick={() => setShowOpen((o) => !o)}
                  aria-expanded={showOpen}
                >
                  Open existing project…
                </Button>
              </Group>
              <Collapse expanded={showOpen}>
                <OpenExistingForm canBrowse={canBrowse} pickFolder={pickFolder} onOpened={onOpened} />
              </Collapse>

              {recent.status === 'loading' && !recent.data ? (
                <Stack gap="xs" aria-label="Loading recent projects">
                  <Skeleton height={64} radius="md" />
                  <Skeleton height={64} radius="md" />
                </Stack>
              ) : recent.status === 'error' && !recent.data ? (
                <Text c="red" size="sm" role="alert">
                  The list of recent projects could not be loaded: {recent.error.message}
                </Text>
              ) : projects.length === 0 ? (
                <EmptyState
                  data-testid="recent-empty"
                  icon={<IconFolders size={32} stroke={1.5} />}
                  withIndicatorBackground
                  title="No projects yet"
                  description="Create your first project to get started. Projects you create or open will be listed here, so you can come back to them."
                  py="lg"
                />
              ) : (
                <RecentProjects projects={projects} openingPath={openingPath} onOpen={openRecent} onForget={forget} />
              )}
            </Stack>
          </Card>
        </SimpleGrid>
        {info.data && (
          <Text size="xs" c="dimmed" ta="center">
            {info.data.name} {info.data.version}
          </Text>
        )}
      </Stack>
    </Container>
  );
}
