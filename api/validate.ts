import type { z } from 'zod';
import { AppError } from '../shared/errors.js';

/**
 * Parses a request body with a route's schema. Failures become 400 invalid_request
 * with one message per field; a body that is not an object is reported as "body".
 * The output holds only the schema's keys, so stray keys never reach the domain.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    // A strict schema's stray keys are each named, so a client sees which field is not allowed.
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] ??= 'is not allowed';
      continue;
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    fields[field] ??= issue.message;
  }
  throw new AppError('invalid_request', { fields });
}
