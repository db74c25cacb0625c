export { INGEST_LIMITS, interactionRow, validateInteraction } from './ingest.service';
export type { IngestService, InteractionRow, UncheckedInteractionRow } from './ingest.service';
export type { Direction } from './validate-interaction';
export { InteractionRef } from './interaction.graphql';
