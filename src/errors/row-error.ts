import { ErrorCode, errorMessage, type MessageArgs } from './catalog';
import { jsonProblem, textProblem } from '@rapport/connector-kit';

/** Why one row of a batch was not written; `field` is a path inside the row (`customer.identifiers[1].value`). */
export interface RowError {
  code: ErrorCode;
  field?: string;
  message: string;
}

export type RowStatus = 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';

/** How a batch treats invalid rows. */
export type BatchMode = 'ATOMIC' | 'PER_ROW';

/** A row error whose message is built from the catalog's template for `code`. */
export function rowError<C extends ErrorCode>(code: C, args: MessageArgs<C>, field?: string): RowError {
  return field === undefined ? { code, message: errorMessage(code, args) } : { code, field, message: errorMessage(code, args) };
}

/** Collects the problems of one row while it is validated. */
export class RowProblems {
  readonly errors: RowError[] = [];
  add(code: ErrorCode, field: string, message: string): void {
    this.errors.push({ code, field, message });
  }
  get ok(): boolean {
    return this.errors.length === 0;
  }
}

/** Checks an optional string's length and emptiness; returns the trimmed value. */
export function checkText(
  problems: RowProblems,
  code: ErrorCode,
  field: string,
  value: string | null | undefined,
  { max, required = false }: { max: number; required?: boolean },
): string | undefined {
  if (value === null || value === undefined) {
    if (required) problems.add(code, field, `${field} is required`);
    return undefined;
  }
  const trimmed = value.trim();
  if (trimmed.length === 0) {
    if (required) problems.add(code, field, `${field} must not be empty`);
    return undefined;
  }
  const bad = textProblem(trimmed);
  if (bad) {
    // Text Postgres cannot store is INVALID_TEXT at every boundary (the gateway and connector batches say so too).
    problems.add(ErrorCode.INVALID_TEXT, field, `${field} ${bad}`);
    return undefined;
  }
  if (trimmed.length > max) {
    problems.add(code, field, `${field} is longer than ${max} characters`);
    return undefined;
  }
  return trimmed;
}

/** JSON objects stored in jsonb columns (traits, properties) must be plain objects of bounded size. */
export function checkJsonObject(problems: RowProblems, code: ErrorCode, field: string, value: unknown, maxBytes: number): Record<string, unknown> | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.add(code, field, `${field} must be a JSON object`);
    return undefined;
  }
  // Shape and text first: JSON.stringify recurses, and jsonb refuses NUL and unpaired surrogates.
  const bad = jsonProblem(value, field);
  if (bad) {
    problems.add(code, bad.path, bad.message);
    return undefined;
  }
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > maxBytes) {
    problems.add(code, field, `${field} is ${size} bytes; the limit is ${maxBytes}`);
    return undefined;
  }
  return value as Record<string, unknown>;
}

/**
 * Marks every row of an ATOMIC batch that was not rejected on its own as not
 * written because of the others (BATCH_ABORTED): what every batch writer
 * answers when one bad row stops the whole batch.
 */
export function abortUnwritten(results: { status: RowStatus | string; errors: { code: string; field?: string; message: string }[] }[]): void {
  for (const result of results) {
    if (result.status === 'REJECTED') continue;
    result.status = 'REJECTED';
    result.errors = [rowError('BATCH_ABORTED', {})];
  }
}
