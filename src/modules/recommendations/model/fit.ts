import type { RecommendationSettings } from '../settings';
import { easeNeighbours } from './ease';
import type { Interactions } from './matrix';
import { cosineNeighbours, rp3betaNeighbours, type Neighbours } from './neighbours';

/** Fits the configured algorithm: every one yields top-K product neighbours. */
export function fitNeighbours(
  x: Interactions,
  s: Pick<RecommendationSettings, 'algorithm' | 'neighbours' | 'shrink' | 'beta' | 'lambda' | 'easeMaxProducts'>,
): Neighbours {
  switch (s.algorithm) {
    case 'COSINE':
      return cosineNeighbours(x, { neighbours: s.neighbours, shrink: s.shrink });
    case 'RP3BETA':
      return rp3betaNeighbours(x, { neighbours: s.neighbours, beta: s.beta });
    case 'EASE':
      return easeNeighbours(x, { neighbours: s.neighbours, lambda: s.lambda, maxProducts: s.easeMaxProducts });
  }
}
