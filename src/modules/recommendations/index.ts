export { RECOMMENDATION_REBUILD_TABLES, createRecommendationRebuild } from './recommendation.service';
export { RECOMMENDATIONS_RECOMPUTE_JOB } from './recommendations.jobs';
export { MAX_RANK_AT_MOST, recommendedCondition } from './recommendation-rule';
