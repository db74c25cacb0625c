import { isSupportedCountry, parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';
import { textProblem } from './text';

/**
 * Identifier validation and normalisation: the one implementation that Rapport's
 * ingest service and the kit's test context (`createTestContext().emit`) both
 * run, so a connector's tests judge identifiers exactly as the host will.
 */

/** How identifiers are read. */
export interface IdentifierOptions {
  /**
   * The country (ISO 3166-1 alpha-2, `GB`) a phone number without a country
   * code is read in: `07911 123456` becomes `+447911123456`. Without it, phone
   * numbers must be international (`+44 7911 123456`).
   */
  defaultCountry?: string;
}

/** An identifier after normalisation, as stored: emails trimmed and lower-cased, phones in E.164. */
export interface NormalizedIdentifier {
  type: string;
  value: string;
}

/** Why an identifier was refused; the message never repeats the value (it ends up in run records and logs). */
export interface IdentifierProblem {
  code: 'INVALID_IDENTIFIER';
  field: 'type' | 'value';
  message: string;
}

const MAX_TYPE_LENGTH = 64;
const MAX_VALUE_LENGTH = 320;
const TYPE_PATTERN = /^[a-z][a-z0-9_.:-]*$/;
// Deliberately permissive (RFC 5322 allows far more than forms do); it refuses what cannot be an address.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/;

/**
 * Whether `code` is a country phone numbers can be read in (an upper-case ISO
 * 3166-1 alpha-2 code that libphonenumber knows).
 *
 * @example
 * ```ts
 * isPhoneCountry('GB'); // true
 * isPhoneCountry('gb'); // false
 * ```
 */
export function isPhoneCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}

/**
 * Normalises one identifier: emails trimmed and lower-cased, phones to E.164
 * (libphonenumber; a number without a country code is read in
 * `options.defaultCountry`, and refused without one), other namespaces kept as
 * given (trimmed). Returns a problem instead of throwing, so a batch can report
 * every bad row.
 *
 * @example
 * ```ts
 * normalizeIdentifier({ type: 'phone', value: '07911 123456' }, { defaultCountry: 'GB' }); // { type: 'phone', value: '+447911123456' }
 * normalizeIdentifier({ type: 'phone', value: '07911 123456' }); // { code: 'INVALID_IDENTIFIER', field: 'value', message: … }
 * ```
 */
export function normalizeIdentifier(input: { type: string; value: string }, options: IdentifierOptions = {}): NormalizedIdentifier | IdentifierProblem {
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
  if (type === 'phone') return normalizePhone(raw, options.defaultCountry);
  return { type, value: raw };
}

function normalizePhone(raw: string, defaultCountry: string | undefined): NormalizedIdentifier | IdentifierProblem {
  const country = defaultCountry !== undefined && isPhoneCountry(defaultCountry) ? (defaultCountry as CountryCode) : undefined;
  if (!raw.startsWith('+') && country === undefined) {
    return problem(
      'value',
      'value is not a phone number in international format (E.164, e.g. +14155552671); a national number needs a default country (the connection’s defaultCountry or RAPPORT_DEFAULT_PHONE_COUNTRY)',
    );
  }
  try {
    const phone = parsePhoneNumberWithError(raw, country);
    if (!phone.isValid()) return problem('value', 'value is not a valid phone number');
    return { type: 'phone', value: phone.number };
  } catch {
    return problem('value', country ? `value is not a phone number (numbers without a country code are read as ${country})` : 'value is not a phone number');
  }
}

/**
 * Tells a refused identifier from a normalised one.
 *
 * @example
 * ```ts
 * const result = normalizeIdentifier(identifier, { defaultCountry: 'GB' });
 * if (isIdentifierProblem(result)) console.log(result.message);
 * ```
 */
export function isIdentifierProblem(value: NormalizedIdentifier | IdentifierProblem): value is IdentifierProblem {
  return 'code' in value;
}

function problem(field: 'type' | 'value', message: string): IdentifierProblem {
  return { code: 'INVALID_IDENTIFIER', field, message };
}
