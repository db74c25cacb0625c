import type { z } from 'zod';

/**
 * One problem found while validating a value, located by a path a person can read.
 *
 * @example
 * ```ts
 * const issue: ValidationIssue = { path: 'interactions[2].currency', segments: ['interactions', 2, 'currency'], code: 'invalid_format', message: 'must be a 3-letter ISO 4217 code' };
 * ```
 */
export interface ValidationIssue {
  /** Dotted path with array indices in brackets (`interactions[2].currency`); `''` for the value itself. */
  path: string;
  /** The same path as segments, for programs. */
  segments: Array<string | number>;
  /** zod's issue code (`invalid_type`, `too_small`, `unrecognized_keys`, `custom`…), or a stable code of the kit's own checks (`INVALID_IDENTIFIER`). */
  code: string;
  /** What is wrong. */
  message: string;
}

/**
 * Formats path segments the way {@link ValidationIssue.path} does.
 *
 * @example
 * ```ts
 * formatIssuePath(['interactions', 2, 'customer', 'identifiers', 0, 'value']); // 'interactions[2].customer.identifiers[0].value'
 * ```
 */
export function formatIssuePath(segments: ReadonlyArray<PropertyKey>): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}

/**
 * Turns zod issues into {@link ValidationIssue}s. An unknown key is reported at the key
 * itself (zod reports it at the parent), so every such issue names the offending field.
 *
 * @example
 * ```ts
 * const result = schema.safeParse(input);
 * if (!result.success) return { ok: false, errors: toValidationIssues(result.error.issues) };
 * ```
 */
export function toValidationIssues(issues: ReadonlyArray<z.core.$ZodIssue>): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const base = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const segments = [...base, key].map(toSegment);
        out.push({ path: formatIssuePath(segments), segments, code: issue.code, message: `Unknown field "${key}"` });
      }
      continue;
    }
    const segments = base.map(toSegment);
    // A custom issue may carry a stable code of its own (`INVALID_IDENTIFIER`).
    const own = issue.code === 'custom' ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
    out.push({ path: formatIssuePath(segments), segments, code: typeof own === 'string' ? own : issue.code, message: issue.message });
  }
  return out;
}

function toSegment(segment: PropertyKey): string | number {
  return typeof segment === 'number' ? segment : String(segment);
}
