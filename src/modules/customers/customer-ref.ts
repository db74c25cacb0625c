import { ErrorCode } from '../../errors/catalog';
import type { RowProblems } from '../../errors/row-error';
import { isIdentifierProblem, normalizeIdentifier, type Identifier, type IdentifierInput } from './identity';
import type { CustomerDemand, NewCustomerProfile } from './identity-resolver';
import { isDatabaseId } from '../../infra/db-values';

/** A reference to a customer: exactly one of a customer id or identifiers. */
export interface CustomerRef {
  id?: string | null;
  identifiers?: IdentifierInput[] | null;
  /** From an unauthenticated sender (see CustomerDemand.unverified). */
  unverified?: boolean;
}

export const MAX_IDENTIFIERS_PER_REF = 20;

/** Validates a reference and turns it into a demand for the identity resolver. */
export function toCustomerDemand(
  problems: RowProblems,
  field: string,
  ref: CustomerRef | null | undefined,
  profile?: NewCustomerProfile,
): CustomerDemand | undefined {
  if (!ref) {
    problems.add(ErrorCode.INVALID_FIELD, field, `${field} is required`);
    return undefined;
  }
  const { id, identifiers: given } = ref;
  const neitherOrBoth = (): undefined => {
    problems.add(ErrorCode.INVALID_FIELD, field, `${field} needs exactly one of id or identifiers`);
    return undefined;
  };
  if (id !== undefined && id !== null) {
    if (given !== undefined && given !== null) return neitherOrBoth();
    if (!isDatabaseId(id)) {
      problems.add(ErrorCode.CUSTOMER_NOT_FOUND, `${field}.id`, `${field}.id is not a customer id`);
      return undefined;
    }
    return { customerId: id };
  }
  if (given === undefined || given === null) return neitherOrBoth();
  const identifiers = normalizeIdentifiers(problems, `${field}.identifiers`, given);
  return identifiers ? { identifiers, profile, unverified: ref.unverified === true } : undefined;
}

/** Normalises a list of identifiers, reporting each bad one by its path. */
export function normalizeIdentifiers(problems: RowProblems, field: string, inputs: IdentifierInput[]): Identifier[] | undefined {
  if (inputs.length === 0) {
    problems.add(ErrorCode.INVALID_IDENTIFIER, field, `${field} needs at least one identifier`);
    return undefined;
  }
  if (inputs.length > MAX_IDENTIFIERS_PER_REF) {
    problems.add(ErrorCode.INVALID_IDENTIFIER, field, `${field} has ${inputs.length} identifiers; the limit is ${MAX_IDENTIFIERS_PER_REF}`);
    return undefined;
  }
  const result: Identifier[] = [];
  const before = problems.errors.length;
  inputs.forEach((input, i) => {
    const normalized = normalizeIdentifier(input);
    if (isIdentifierProblem(normalized)) problems.add(normalized.code, `${field}[${i}].${normalized.field}`, normalized.message);
    else result.push(normalized);
  });
  return problems.errors.length === before ? result : undefined;
}
