import type { z } from 'zod';

/**
 * Zod's issues as one line that names each bad field (`data.locale: Invalid input:
 * expected string, received undefined`). Zod's messages do not echo the value, so the
 * line is safe to log even when the value was something an event must never carry.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}
