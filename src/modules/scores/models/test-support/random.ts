// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { PI, cos, imul, log, pow, sqrt } = Math;

/** A seeded generator of uniforms on (0, 1) (mulberry32), so simulated data sets are the same on every run. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

export function standardNormal(uniform: () => number): number {
  return sqrt(-2 * log(uniform())) * cos(2 * PI * uniform());
}

/** Gamma(shape, rate) by Marsaglia & Tsang (2000), with the U^(1/shape) boost for shape < 1. */
export function gammaVariate(uniform: () => number, shape: number, rate: number): number {
  if (shape < 1) return gammaVariate(uniform, shape + 1, rate) * pow(uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / sqrt(9 * d);
  for (;;) {
    const z = standardNormal(uniform);
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    if (log(uniform()) < 0.5 * z * z + d - d * v + d * log(v)) return (d * v) / rate;
  }
}

export function betaVariate(uniform: () => number, a: number, b: number): number {
  const x = gammaVariate(uniform, a, 1);
  return x / (x + gammaVariate(uniform, b, 1));
}
