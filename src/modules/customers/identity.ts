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

/**
 * Validation and normalisation of identifiers live in the connector kit, so a
 * connector's tests (the kit's test context) and every entry point here judge
 * an identifier with the same code.
 */
export { isIdentifierProblem, normalizeIdentifier } from '@rapport/connector-kit';
export type { IdentifierOptions, IdentifierProblem } from '@rapport/connector-kit';

/** The key an identifier is matched by; unique per (type, value). */
export function identifierKey(identifier: Identifier): string {
  return `${identifier.type}\u0000${identifier.value}`;
}
