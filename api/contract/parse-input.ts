import type { z } from 'zod';
import { AppError } from '../../shared/errors.js';

export type InputPart = 'body' | 'query' | 'params';

/** The 400's `fields`: one reason per field; a stray key of a strict schema is named, and a body that is not an object is "body". */
function fieldsOf(error: z.ZodError, part: InputPart): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] ??= 'is not allowed';
      continue;
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : part;
    fields[field] ??= issue.message;
  }
  return fields;
}

/**
 * Parses one part of a request with its declared schema (nothing declared: undefined).
 * A body or query that fails is `400 invalid_request` with one reason per field; a path
 * parameter that fails is `404 not_found`, since no resource can have that id. The output
 * holds only the schema's keys, so stray keys never reach the domain.
 */
export function parseInput<S extends z.ZodType>(schema: S | undefined, input: unknown, part: InputPart): z.output<S> | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  if (part === 'params') throw new AppError('not_found');
  throw new AppError('invalid_request', { fields: fieldsOf(result.error, part) });
}
