import { CoreDataModel1763800000000 } from './1763800000000-core-data-model';
import { ScoresModel1763900000000 } from './1763900000000-scores';
import { Segments1764000000000 } from './1764000000000-segments';
import { Connectors1764100000000 } from './1764100000000-connectors';
import { AccessAndPrivacy1764200000000 } from './1764200000000-access-and-privacy';
import { ScoresWithoutForeignKeys1764300000000 } from './1764300000000-scores-without-foreign-keys';
import { ScoreLabelsPartialIndex1764400000000 } from './1764400000000-score-labels-partial-index';
import { ScoreHistorySupersededValues1764500000000 } from './1764500000000-score-history-superseded-values';
import { ScoreComponentArrays1764600000000 } from './1764600000000-score-component-arrays';
import { WebhookRefusals1764700000000 } from './1764700000000-webhook-refusals';
import { CustomerKeyedPrimaryKeys1764760000000 } from './1764760000000-customer-keyed-primary-keys';
import { Outbox1764800000000 } from './1764800000000-outbox';
import { ConnectionSourceAndCountry1764900000000 } from './1764900000000-connection-source-and-country';
import { WebhookRefusalPayloadInvalid1765000000000 } from './1765000000000-webhook-refusal-payload-invalid';
import { IdentityMatching1765100000000 } from './1765100000000-identity-matching';
import { CustomerMerges1765200000000 } from './1765200000000-customer-merges';
import { Webhooks1765300000000 } from './1765300000000-webhooks';
import { Alerts1765400000000 } from './1765400000000-alerts';
import { Recommendations1765600000000 } from './1765600000000-recommendations';
import { SegmentProductPopularity1766100000000 } from './1766100000000-segment-product-popularity';

/** Migrations in order. Immutable once landed: change the schema with a new one. */
export const migrations = [
  CoreDataModel1763800000000,
  ScoresModel1763900000000,
  Segments1764000000000,
  Connectors1764100000000,
  AccessAndPrivacy1764200000000,
  ScoresWithoutForeignKeys1764300000000,
  ScoreLabelsPartialIndex1764400000000,
  ScoreHistorySupersededValues1764500000000,
  ScoreComponentArrays1764600000000,
  WebhookRefusals1764700000000,
  CustomerKeyedPrimaryKeys1764760000000,
  Outbox1764800000000,
  ConnectionSourceAndCountry1764900000000,
  WebhookRefusalPayloadInvalid1765000000000,
  IdentityMatching1765100000000,
  CustomerMerges1765200000000,
  Webhooks1765300000000,
  Alerts1765400000000,
  Recommendations1765600000000,
  SegmentProductPopularity1766100000000,
];
