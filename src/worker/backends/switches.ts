/**
 * The GAN_AUGMENT_* switches that are on unless turned off (for A/B runs and comparisons): '0',
 * 'false' and 'off' (any case, spaces around) turn one off; anything else, or unset, leaves it on.
 */
export function switchOn(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off');
}
