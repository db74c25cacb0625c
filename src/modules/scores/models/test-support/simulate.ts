import type { BetaGeoParams, PurchaseSummary } from '../bg-nbd';
import type { GammaGammaParams, SpendSummary } from '../gamma-gamma';
import { betaVariate, gammaVariate, seededUniform } from './random';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { log } = Math;

/**
 * Customers drawn from the BG/NBD story itself (Fader, Hardie & Lee 2005, §2):
 * λ ~ Gamma(r, α), p ~ Beta(a, b); purchases arrive at Poisson rate λ and the
 * customer leaves right after each one with probability p. Ages T are uniform
 * on [minT, maxT].
 */
export function simulateBetaGeo(params: BetaGeoParams, count: number, options: { seed: number; minT: number; maxT: number }): PurchaseSummary[] {
  const uniform = seededUniform(options.seed);
  const customers: PurchaseSummary[] = [];
  for (let i = 0; i < count; i++) {
    const T = options.minT + (options.maxT - options.minT) * uniform();
    const lambda = gammaVariate(uniform, params.r, params.alpha);
    const p = betaVariate(uniform, params.a, params.b);
    let x = 0;
    let tx = 0;
    let now = 0;
    for (;;) {
      now += -log(uniform()) / lambda;
      if (now > T) break;
      x++;
      tx = now;
      if (uniform() < p) break;
    }
    customers.push({ x, tx, T });
  }
  return customers;
}

/**
 * Mean spends drawn from the Gamma-Gamma story (Fader & Hardie 2013): ν ~
 * Gamma(q, γ) per customer, each of x transactions ~ Gamma(p, ν).
 */
export function simulateGammaGamma(params: GammaGammaParams, frequencies: readonly number[], seed: number): SpendSummary[] {
  const uniform = seededUniform(seed);
  return frequencies.map((x) => {
    const nu = gammaVariate(uniform, params.q, params.gamma);
    let total = 0;
    for (let k = 0; k < x; k++) total += gammaVariate(uniform, params.p, nu);
    return { x, m: x > 0 ? total / x : 0 };
  });
}
