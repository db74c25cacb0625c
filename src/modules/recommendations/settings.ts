import { z } from 'zod';
import { fail } from '../../errors/catalog';

/** The algorithms a model can be fitted with; each yields top-K product neighbours (see model/). */
export const RECOMMENDATION_ALGORITHMS = ['RP3BETA', 'COSINE', 'EASE'] as const;
export type RecommendationAlgorithm = (typeof RECOMMENDATION_ALGORITHMS)[number];

/** Settings of the recommendation model, with their defaults (docs/recommendations.md says why each is so). */
export const recommendationSettings = z
  .strictObject({
    /** The interaction property that names the product. */
    productProperty: z.string().trim().min(1).max(64).default('product'),
    /** Interaction types that count, and their weight. */
    interactionTypes: z
      .record(z.string().min(1).max(64), z.number().positive().max(1000))
      .refine((m) => Object.keys(m).length >= 1, 'give at least one interaction type')
      .refine((m) => Object.keys(m).length <= 32, 'at most 32 interaction types')
      .default({ purchase: 1, order: 1 }),
    /** Leave out the products a customer already has. */
    excludeOwned: z.boolean().default(true),
    /** Half-life of an interaction's weight, in days; null: no decay. */
    halfLifeDays: z.number().positive().max(36_500).nullable().default(null),
    algorithm: z.enum(RECOMMENDATION_ALGORITHMS).default('RP3BETA'),
    /** Neighbours kept per product. */
    neighbours: z.int().min(1).max(200).default(50),
    /** COSINE: shrinkage of the similarity towards 0 for pairs seen by few customers. */
    shrink: z.number().min(0).max(1_000_000).default(10),
    /** RP3BETA: popularity penalty exponent. */
    beta: z.number().min(0).max(1).default(0.3),
    /** EASE: L2 regularisation. */
    lambda: z.number().positive().max(1_000_000).default(50),
    /** EASE: the most popular products fitted (a dense n × n inverse: n³ operations). */
    easeMaxProducts: z.int().min(2).max(3_000).default(2_000),
    /** Recommendations kept per customer (what Customer.recommendations, productAudience and rules read). */
    keep: z.int().min(1).max(100).default(20),
  })
  .refine((s) => s.productProperty.split('.').every((segment) => segment.length > 0), {
    path: ['productProperty'],
    message: 'a property path has no empty segment',
  });

export type RecommendationSettings = z.infer<typeof recommendationSettings>;

/** The settings with every default filled in. */
export const DEFAULT_SETTINGS: RecommendationSettings = recommendationSettings.parse({});

/** Validates settings; a problem is VALIDATION_FAILED with `settings.<name>` as the field at fault. */
export function validateRecommendationSettings(input: Record<string, unknown>): RecommendationSettings {
  const parsed = recommendationSettings.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const unknownKey = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0] : undefined;
  const path = unknownKey ?? issue.path.map(String).join('.');
  const field = path ? `settings.${path}` : 'settings';
  const message = unknownKey ? `${field}: the recommendation model has no setting "${unknownKey}"` : `${field}: ${issue.message}`;
  throw fail('VALIDATION_FAILED', { detail: message }, field, { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
}
