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

/**
 * The most specific of a zod error's issues, as a {@link ValidationIssue}: a union's
 * "Invalid input" is replaced by an issue of the branch that came closest (the fewest
 * issues, then the deepest), and among several issues the one with the longest path
 * wins, the first on a tie. Use it to say in one line where a payload is wrong.
 * Undefined when there is no issue.
 *
 * @example
 * ```ts
 * const event = eventSchema.safeParse(json);
 * if (!event.success) {
 *   const issue = deepestIssue(event.error.issues)!;
 *   throw new MalformedPayloadError(issue.message, { path: issue.path }); // path 'data.customer.email'
 * }
 * ```
 */
export function deepestIssue(issues: ReadonlyArray<z.core.$ZodIssue>): ValidationIssue | undefined {
  const best = deepest(issues, []);
  if (!best) return undefined;
  return toValidationIssues([{ ...best.issue, path: best.segments } as z.core.$ZodIssue])[0];
}

function deepest(issues: ReadonlyArray<z.core.$ZodIssue>, prefix: PropertyKey[]): { segments: PropertyKey[]; issue: z.core.$ZodIssue } | undefined {
  let best: { segments: PropertyKey[]; issue: z.core.$ZodIssue } | undefined;
  for (const issue of issues) {
    let segments = [...prefix, ...(issue.path as PropertyKey[])];
    let candidate = { segments, issue };
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch with the fewest issues came closest to matching; its deepest issue names the field at fault.
      const branches = issue.errors
        .flatMap((branch) => {
          const found = deepest(branch, segments);
          return found ? [{ size: branch.length, found }] : [];
        })
        .sort((a, b) => a.size - b.size || b.found.segments.length - a.found.segments.length);
      if (branches[0]) {
        candidate = branches[0].found;
        segments = candidate.segments;
      }
    }
    if (!best || segments.length > best.segments.length) best = candidate;
  }
  return best;
}
