import { Button, Center, Loader, Stack, Text, Title } from '@mantine/core';
import { errorTitle } from '../../../shared/errors';
import { ConnectionBanner } from '../../components/ConnectionBanner';
import { ProjectLayout } from '../layout/ProjectLayout';
import { ProjectsScreen } from '../projects/ProjectsScreen';
import { useSession } from './useSession';

/** Chooses the screen from the session: loading, a problem, the projects screen or an open project. */
export function App() {
  const [session, { setProject, applyJob, retry }] = useSession();
  let body;
  switch (session.phase) {
    case 'loading':
      body = (
        <Center h="100vh">
          <Stack align="center" gap="sm">
            <Loader />
            <Text c="dimmed">Opening GAN Augment…</Text>
          </Stack>
        </Center>
      );
      break;
    case 'failed':
      body = (
        <Center h="100vh" p="md">
          <Stack align="center" gap="sm" maw={520} role="alert">
            <Title order={1} size="h3">
              {errorTitle(session.error.kind)}
            </Title>
            <Text ta="center">{session.error.message}</Text>
            {session.error.kind !== 'unauthorized' && <Button onClick={retry}>Try again</Button>}
          </Stack>
        </Center>
      );
      break;
    case 'ready':
      body = session.project ? (
        // keyed by the project: another project opened in its place (the menu, another window) gets
        // fresh screens, not this one's forms and drafts
        <ProjectLayout key={session.project.path} project={session.project} jobs={session.jobs} onJob={applyJob} onClosed={() => setProject(null)} />
      ) : (
        <ProjectsScreen onOpened={setProject} />
      );
      break;
  }
  return (
    <>
      <ConnectionBanner />
      {body}
    </>
  );
}
