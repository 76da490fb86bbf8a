import type { z } from 'zod';
import { AppError } from './errors';

/** Parses with a schema; a failure becomes a `validation` AppError naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  const reason = issue?.message ?? 'is invalid';
  const message = field ? `The ${what} field "${field}" is invalid: ${reason}` : `The ${what} is invalid: ${reason}`;
  throw new AppError('validation', message, field === undefined ? undefined : { field });
}
