/** The largest value of a Postgres `bigint`, the type of every table's id. */
const MAX_BIGINT = 9223372036854775807n;

/**
 * Whether a string is a row id Postgres can take: a positive `bigint` in
 * canonical form. A larger number of the same length (9223372036854775808)
 * would fail the query as "out of range" instead of matching nothing.
 */
export function isDatabaseId(id: string): boolean {
  return /^[1-9][0-9]{0,18}$/.test(id) && (id.length < 19 || BigInt(id) <= MAX_BIGINT);
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: instants outside these are refused before SQL. */
const FIRST_INSTANT = new Date('0001-01-01T00:00:00Z').getTime();
const END_INSTANT = new Date('+010000-01-01T00:00:00Z').getTime();

/**
 * Whether an instant lies in years 1 to 9999 (UTC). JavaScript dates reach
 * year 0 and beyond 9999 (`0000-01-01T00:00:00Z`, or `9999-12-31T23:00-14:00`),
 * which Postgres answers with "date/time field value out of range".
 */
export function isStorableInstant(date: Date): boolean {
  const time = date.getTime();
  return time >= FIRST_INSTANT && time < END_INSTANT;
}
