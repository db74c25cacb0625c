/**
 * The segment condition `recommended: { product, rankAtMost }`: the product is
 * among the customer's first `rankAtMost` recommendations (stored lists, so
 * it moves with the per-customer refresh and with each full recompute).
 * `customer` is the SQL of the customer id; `bind` binds a value.
 */
export function recommendedCondition(
  customer: string,
  product: string,
  rankAtMost: number,
  bind: (value: unknown) => string,
): { holds: string; figure: string } {
  const rank = `(SELECT array_position(r.products, ${bind(product)}::text) FROM customer_recommendations r WHERE r.customer_id = ${customer})`;
  return { holds: `COALESCE(${rank} <= ${bind(rankAtMost)}::int, FALSE)`, figure: `to_jsonb(${rank})` };
}

/** The most a rule may ask for: the longest list kept per customer. */
export const MAX_RANK_AT_MOST = 100;
