/**
 * Interaction types that are transactions (purchases) for stats and models.
 * A leaf module: customers (stats) and interactions both read it.
 */
export const TRANSACTION_TYPES = ['purchase', 'order'] as const;
