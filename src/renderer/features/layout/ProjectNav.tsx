import { NavLink, Tooltip } from '@mantine/core';
import {
  IconChartBar,
  IconFileImport,
  IconHome,
  IconPackageExport,
  IconPhoto,
  IconScale,
  IconSparkles,
  type Icon,
} from '@tabler/icons-react';
import { SCREENS, hashFor, shortcutLabel, type ScreenId } from './screens';

const ICONS: Record<ScreenId, Icon> = {
  overview: IconHome,
  import: IconFileImport,
  balance: IconScale,
  training: IconSparkles,
  gallery: IconPhoto,
  evaluate: IconChartBar,
  export: IconPackageExport,
};

interface Props {
  active: ScreenId;
  isMac: boolean;
  onNavigate: (screen: ScreenId) => void;
}

export function ProjectNav({ active, isMac, onNavigate }: Props) {
  return (
    <nav aria-label="Project screens">
      {SCREENS.map((s, i) => {
        const Icon = ICONS[s.id];
        return (
          <Tooltip key={s.id} label={shortcutLabel(i, isMac)} position="right" openDelay={500}>
            <NavLink
              href={hashFor(s.id)}
              label={s.label}
              leftSection={<Icon size={18} stroke={1.5} />}
              active={active === s.id}
              aria-current={active === s.id ? 'page' : undefined}
              aria-keyshortcuts={isMac ? `Meta+${i + 1}` : `Control+${i + 1}`}
              onClick={(e) => {
                e.preventDefault();
                onNavigate(s.id);
              }}
              data-testid={`nav-${s.id}`}
            />
          </Tooltip>
        );
      })}
    </nav>
  );
}
