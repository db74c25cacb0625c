/** What a customer is: the values of `customers.kind` (its check constraint in migrations). */
export const CUSTOMER_KINDS = ['PERSON', 'ORGANIZATION'] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];
