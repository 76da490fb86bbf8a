import { NumberInput } from '@mantine/core';

interface Props {
  value: number | string;
  onChange: (v: number | string) => void;
  /** What the seed makes repeatable, in a few words. */
  description: string;
  error?: string;
  'data-testid'?: string;
}

/** An optional random seed: empty means "chosen for you". */
export function SeedInput({ value, onChange, description, error, 'data-testid': testId }: Props) {
  return (
    <NumberInput
      label="Random seed (optional)"
      description={description}
      placeholder="Chosen for you"
      value={value}
      onChange={onChange}
      min={0}
      max={2 ** 31 - 1}
      allowDecimal={false}
      allowNegative={false}
      error={error}
      data-testid={testId}
    />
  );
}
