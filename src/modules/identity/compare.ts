/**
 * String, date and number comparisons of the matcher, each reducing a pair of
 * values to an agreement level. Pure functions: the full run, the
 * incremental run in the customer refresh and the tests share them.
 */

/** Scratch flags of jaroWinkler, reused across calls (millions of pairs are compared in a run). */
let scratchA = new Uint8Array(64);
let scratchB = new Uint8Array(64);

/** Jaro–Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4 characters). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  if (scratchA.length < la) scratchA = new Uint8Array(la * 2);
  if (scratchB.length < lb) scratchB = new Uint8Array(lb * 2);
  const matchedA = scratchA;
  const matchedB = scratchB;
  matchedA.fill(0, 0, la);
  matchedB.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (matchedB[j] || a.charCodeAt(i) !== b.charCodeAt(j)) continue;
      matchedA[i] = 1;
      matchedB[j] = 1;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  for (let i = 0, j = 0; i < la; i++) {
    if (!matchedA[i]) continue;
    while (!matchedB[j]) j++;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) transpositions++;
    j++;
  }
  const jaro = (matches / la + matches / lb + (matches - transpositions / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/** Trigram sets of recently compared strings: a value is compared with many others in a run. */
const trigramCache = new Map<string, Set<string>>();
const TRIGRAM_CACHE_SIZE = 100_000;

/** The trigrams of a string as pg_trgm forms them: per word, lower case, padded with two spaces before and one after. */
function trigrams(value: string): Set<string> {
  const cached = trigramCache.get(value);
  if (cached) return cached;
  if (trigramCache.size >= TRIGRAM_CACHE_SIZE) trigramCache.clear();
  const grams = new Set<string>();
  trigramCache.set(value, grams);
  for (const word of value.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (!word) continue;
    const padded = `  ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  }
  return grams;
}

/** Trigram similarity in [0, 1], as pg_trgm's `similarity()`: shared trigrams over the union. */
export function trigramSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const ta = trigrams(a);
  const tb = trigrams(b);
  if (ta.size === 0 || tb.size === 0) return 0;
  let shared = 0;
  for (const gram of ta) if (tb.has(gram)) shared++;
  return shared / (ta.size + tb.size - shared);
}

/** Levenshtein distance, stopping early once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}

/** True when `b` is `a` with two adjacent characters swapped. */
export function adjacentTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i < a.length - 1 && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/**
 * Dates (`YYYY-MM-DD`) that differ by a typing slip: one digit changed, two
 * adjacent digits swapped, or day and month swapped.
 */
export function dateTypo(a: string, b: string): boolean {
  if (a.length === 10 && b.length === 10) {
    // YYYY-MM-DD: positions that differ, at most two are a slip.
    let first = -1;
    let second = -1;
    for (let i = 0; i < 10; i++) {
      if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
      if (first < 0) first = i;
      else if (second < 0) second = i;
      else return a.slice(0, 5) === b.slice(0, 5) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7);
    }
    if (second < 0) return true;
    if (second === first + 1 && a[first] === b[second] && a[second] === b[first]) return true;
    return a.slice(0, 5) === b.slice(0, 5) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7);
  }
  const da = a.replace(/\D/g, '');
  const db = b.replace(/\D/g, '');
  return editDistance(da, db, 1) <= 1 || adjacentTransposition(da, db);
}
