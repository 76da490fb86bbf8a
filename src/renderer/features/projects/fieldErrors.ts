import { ProjectNameSchema } from '../../../shared/contract';
import { asApiError } from '../../api/hooks';

export type FieldErrors<F extends string> = Partial<Record<F, string>>;

/**
 * Splits a failed call into an error shown beside one of `fields`, or null when it belongs in a
 * notification (any other kind, or a field this form does not have).
 */
export function fieldErrorOf<F extends string>(err: unknown, fields: readonly F[]): FieldErrors<F> | null {
  const e = asApiError(err);
  if (e.kind !== 'validation' || e.field === undefined) return null;
  const field = fields.find((f) => f === e.field);
  return field === undefined ? null : ({ [field]: fieldSentence(e.message) } as FieldErrors<F>);
}

/** Beside the field, 'The input field "name" is invalid: Give the project a name.' reads better as its reason. */
export function fieldSentence(message: string): string {
  const m = /^The [\w ]+ field "[^"]*" is invalid: (.+)$/s.exec(message);
  return m?.[1] ?? message;
}

/** The same checks the app makes, run before sending so the person sees them at once. */
export function checkCreateForm(name: string, parentDir: string): FieldErrors<'name' | 'parentDir'> {
  const errors: FieldErrors<'name' | 'parentDir'> = {};
  const parsed = ProjectNameSchema.safeParse(name);
  if (!parsed.success) errors.name = parsed.error.issues[0]?.message ?? 'Choose another name.';
  if (parentDir.trim() === '') errors.parentDir = 'Choose a folder for the project.';
  return errors;
}
