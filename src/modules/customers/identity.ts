import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';
import { ErrorCode } from '../../errors/catalog';
import { textProblem } from '@rapport/connector-kit';

/** An identifier as a client gives it: `email`, `phone`, or any namespace (`shopify`, `crm`). */
export interface IdentifierInput {
  type: string;
  value: string;
}

/** A normalised identifier, as stored in `customer_identifiers`. */
export interface Identifier {
  type: string;
  value: string;
}

export interface IdentifierProblem {
  code: typeof ErrorCode.INVALID_IDENTIFIER;
  field: 'type' | 'value';
  message: string;
}

const MAX_TYPE_LENGTH = 64;
const MAX_VALUE_LENGTH = 320;
const TYPE_PATTERN = /^[a-z][a-z0-9_.:-]*$/;
// Deliberately permissive (RFC 5322 allows far more than forms do); it rejects what cannot be an address.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/;

/**
 * Normalises one identifier: emails trimmed and lower-cased, phones to E.164
 * (libphonenumber; numbers without a country code use `defaultCountry`),
 * other namespaces kept as given (trimmed). Returns a problem instead of
 * throwing so a batch can report every bad row; its message never repeats
 * the value (error messages end up in run records and logs).
 */
export function normalizeIdentifier(input: IdentifierInput, defaultCountry?: CountryCode): Identifier | IdentifierProblem {
  const type = input.type.trim().toLowerCase();
  if (!TYPE_PATTERN.test(type) || type.length > MAX_TYPE_LENGTH) {
    return problem('type', `type must be a lower-case name such as email, phone or shopify (at most ${MAX_TYPE_LENGTH} characters)`);
  }
  const raw = input.value.trim();
  if (raw.length === 0) return problem('value', `${type} identifier is empty`);
  if (raw.length > MAX_VALUE_LENGTH) return problem('value', `${type} identifier is longer than ${MAX_VALUE_LENGTH} characters`);
  const bad = textProblem(raw);
  if (bad) return problem('value', `value ${bad}`);

  if (type === 'email') {
    const email = raw.toLowerCase();
    return EMAIL_PATTERN.test(email) ? { type, value: email } : problem('value', 'value is not an email address');
  }
  if (type === 'phone') {
    try {
      const phone = parsePhoneNumberWithError(raw, defaultCountry);
      if (!phone.isValid()) return problem('value', 'value is not a valid phone number');
      return { type, value: phone.number };
    } catch {
      return problem('value', 'value is not a phone number in international format (E.164, e.g. +14155552671)');
    }
  }
  return { type, value: raw };
}

export function isIdentifierProblem(value: Identifier | IdentifierProblem): value is IdentifierProblem {
  return 'code' in value;
}

/** The key an identifier is matched by; unique per (type, value). */
export function identifierKey(identifier: Identifier): string {
  return `${identifier.type}\u0000${identifier.value}`;
}

function problem(field: 'type' | 'value', message: string): IdentifierProblem {
  return { code: ErrorCode.INVALID_IDENTIFIER, field, message };
}
