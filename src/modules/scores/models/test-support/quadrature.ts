/**
 * Plain numerical integration for the model tests: an independent way to
 * evaluate the BG/NBD and Gamma-Gamma integrals without the closed forms
 * (Beta and Gamma functions, ₂F₁) that the models themselves use.
 */

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { PI, abs, cos, exp } = Math;

/** Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1] (Newton's method on the Legendre polynomial Pₙ). */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= n; i++) {
    let x = cos((PI * (i - 0.25)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let previous = 1;
      let current = x;
      for (let k = 2; k <= n; k++) {
        const next = ((2 * k - 1) * x * current - (k - 1) * previous) / k;
        previous = current;
        current = next;
      }
      derivative = (n * (x * current - previous)) / (x * x - 1);
      const step = current / derivative;
      x -= step;
      if (abs(step) < 1e-16) break;
    }
    nodes.push(x);
    weights.push(2 / ((1 - x * x) * derivative * derivative));
  }
  return { nodes, weights };
}

const RULE = gaussLegendre(16);

/** ∫ f over [lo, hi] by composite 16-point Gauss–Legendre on `panels` equal panels. */
export function integrate(f: (x: number) => number, lo: number, hi: number, panels = 200): number {
  const width = (hi - lo) / panels;
  let total = 0;
  for (let panel = 0; panel < panels; panel++) {
    const mid = lo + (panel + 0.5) * width;
    for (let i = 0; i < RULE.nodes.length; i++) total += RULE.weights[i] * f(mid + (RULE.nodes[i] * width) / 2);
  }
  return (total * width) / 2;
}

/**
 * ∫₀^∞ f(λ) dλ through λ = eʸ, y ∈ [lo, hi], which turns the power-law singularity at 0 of a
 * Gamma kernel with shape < 1 into an exponentially decaying tail.
 */
export function integratePositive(f: (lambda: number) => number, lo: number, hi: number, panels = 400): number {
  return integrate(
    (y) => {
      const lambda = exp(y);
      return f(lambda) * lambda;
    },
    lo,
    hi,
    panels,
  );
}

/** ∫₀¹ f(p) dp through the logit p = 1/(1 + e⁻ʸ), y ∈ [lo, hi], for Beta kernels singular at 0 or 1. */
export function integrateUnit(f: (p: number) => number, lo: number, hi: number, panels = 400): number {
  return integrate(
    (y) => {
      const p = 1 / (1 + exp(-y));
      const q = 1 / (1 + exp(y));
      return f(p) * p * q;
    },
    lo,
    hi,
    panels,
  );
}
