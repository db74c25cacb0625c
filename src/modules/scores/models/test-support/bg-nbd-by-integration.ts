import type { BetaGeoParams } from '../bg-nbd';
import { integratePositive, integrateUnit } from './quadrature';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { exp, expm1, log, pow } = Math;

/**
 * The BG/NBD quantities computed from the model's definition (Fader, Hardie &
 * Lee 2005, §2–3) by integrating the individual-level expressions over the
 * mixing distributions λ ~ Gamma(r, α) and p ~ Beta(a, b) numerically. The
 * mixing densities are normalised numerically too, so nothing here shares
 * code or closed forms with `bg-nbd.ts`.
 */
export function bgNbdByIntegration(params: BetaGeoParams, x: number, tx: number, T: number) {
  const { r, alpha, a, b } = params;
  // Integration ranges (in log λ and logit p) wide enough that the kernels' tails are below 1e-17.
  const overLambda = (f: (lambda: number) => number, panels = 400) => integratePositive(f, -40 / r, log(60 / alpha), panels);
  const overP = (f: (p: number) => number, panels = 400) => integrateUnit(f, -40 / a, 40 / b, panels);
  const lambdaKernel = (lambda: number) => pow(lambda, r - 1) * exp(-alpha * lambda);
  const pKernel = (p: number) => pow(p, a - 1) * pow(1 - p, b - 1);
  const lambdaNorm = overLambda(lambdaKernel);
  const pNorm = overP(pKernel);

  // Individual likelihood (FHL eq. 3): alive at T, or dropped out right after the last purchase at t_x.
  const aliveLambda = overLambda((l) => pow(l, x) * exp(-l * T) * lambdaKernel(l)) / lambdaNorm;
  const aliveP = overP((p) => pow(1 - p, x) * pKernel(p)) / pNorm;
  const alive = aliveLambda * aliveP;
  const dropped =
    x === 0 ? 0 : (overLambda((l) => pow(l, x) * exp(-l * tx) * lambdaKernel(l)) / lambdaNorm) * (overP((p) => p * pow(1 - p, x - 1) * pKernel(p)) / pNorm);
  const likelihood = alive + dropped;

  return {
    likelihood,
    probabilityAlive: alive / likelihood,
    /**
     * E[Y(t) | x, t_x, T]: an active customer with (λ, p) makes 1/p·(1 − e^(−λpt))
     * purchases in the next t (FHL eq. 7, the process restarting at T by the
     * memorylessness of the Poisson process), weighted by the posterior of
     * being active with (λ, p).
     */
    expectedPurchases(t: number): number {
      const joint = overP((p) => pow(1 - p, x) * pKernel(p) * overLambda((l) => pow(l, x) * exp(-l * T) * lambdaKernel(l) * (-expm1(-l * p * t) / p), 80), 80);
      return joint / lambdaNorm / pNorm / likelihood;
    },
  };
}
