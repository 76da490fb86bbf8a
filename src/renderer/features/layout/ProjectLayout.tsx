import { AppShell, Burger, Button, Group, Modal, Stack, Text, Title } from '@mantine/core';
import { useDisclosure, useHotkeys } from '@mantine/hooks';
import { IconLogout } from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import type { Job, ProjectStatus } from '../../../shared/contract';
import { activeJobs, closeSentence } from '../../../shared/jobs-text';
import { useClient } from '../../api/hooks';
import { ThemeToggle } from '../../components/ThemeToggle';
import { notifyError } from '../../lib/notify';
import { Overview } from '../overview/Overview';
import { BalanceScreen } from '../balance/BalanceScreen';
import { ImportScreen } from '../import/ImportScreen';
import { GalleryScreen } from '../generate/GalleryScreen';
import { EvaluateScreen, ExportScreen } from '../placeholders/screens';
import { TrainingScreen } from '../training/TrainingScreen';
import { ProjectNav } from './ProjectNav';
import { SCREENS, type ScreenId } from './screens';
import { ShortcutsHelp } from './ShortcutsHelp';
import { useHashScreen } from './useHashScreen';

interface Props {
  project: ProjectStatus;
  jobs: readonly Job[];
  onJob: (job: Job) => void;
  onClosed: () => void;
}

const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

export function ProjectLayout({ project, jobs, onJob, onClosed }: Props) {
  const client = useClient();
  const [screen, go] = useHashScreen();
  const [navOpened, nav] = useDisclosure(false);
  const [closing, setClosing] = useState(false);

  const navigate = (next: ScreenId) => {
    go(next);
    nav.close();
  };

  useHotkeys(SCREENS.map((s, i) => [`mod+${i + 1}`, () => navigate(s.id)]));

  // Tasks under way or waiting when the project closes: training pauses, the rest is cancelled (`closeSentence`).
  const [confirming, setConfirming] = useState(false);
  const active = activeJobs(jobs);
  const askToClose = () => (active.length > 0 ? setConfirming(true) : void closeProject());

  const closeProject = async () => {
    setConfirming(false);
    setClosing(true);
    try {
      await client.call('projects.close', {});
      onClosed();
    } catch (err) {
      notifyError(err);
      setClosing(false);
    }
  };

  let content: ReactNode;
  switch (screen) {
    case 'overview':
      content = <Overview project={project} jobs={jobs} onJob={onJob} onGoToImport={() => navigate('import')} onGoToTraining={() => navigate('training')} />;
      break;
    case 'import':
      content = <ImportScreen project={project} jobs={jobs} onJob={onJob} onGoToBalance={() => navigate('balance')} />;
      break;
    case 'balance':
      content = <BalanceScreen onGoToImport={() => navigate('import')} />;
      break;
    case 'training':
      content = <TrainingScreen project={project} onGoToImport={() => navigate('import')} />;
      break;
    case 'gallery':
      content = <GalleryScreen jobs={jobs} onJob={onJob} onGoToTraining={() => navigate('training')} />;
      break;
    case 'evaluate':
      content = <EvaluateScreen />;
      break;
    case 'export':
      content = <ExportScreen />;
      break;
  }

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !navOpened } }}
      padding="lg"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
            <Burger opened={navOpened} onClick={nav.toggle} hiddenFrom="sm" size="sm" aria-label="Show screens" />
            <Text fw={700} c="dimmed" visibleFrom="xs" style={{ whiteSpace: 'nowrap' }}>
              GAN Augment
            </Text>
            <Text c="dimmed" visibleFrom="xs" aria-hidden>
              /
            </Text>
            <Title order={1} size="h4" lineClamp={1} data-testid="project-name" title={project.path}>
              {project.name}
            </Title>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <ShortcutsHelp isMac={IS_MAC} />
            <ThemeToggle />
            <Button variant="default" leftSection={<IconLogout size={16} />} onClick={askToClose} loading={closing}>
              Close project
            </Button>
            <Modal opened={confirming} onClose={() => setConfirming(false)} title="Close the project while tasks are under way?" centered>
              <Stack gap="md">
                <Text size="sm" data-testid="close-project-sentence">
                  {closeSentence(active)}
                </Text>
                <Group justify="flex-end" gap="xs">
                  <Button variant="default" onClick={() => setConfirming(false)} data-autofocus>
                    Keep it open
                  </Button>
                  <Button onClick={() => void closeProject()} data-testid="close-project-confirm">
                    Close project
                  </Button>
                </Group>
              </Stack>
            </Modal>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        <ProjectNav active={screen} isMac={IS_MAC} onNavigate={navigate} />
      </AppShell.Navbar>
      <AppShell.Main>{content}</AppShell.Main>
    </AppShell>
  );
}
