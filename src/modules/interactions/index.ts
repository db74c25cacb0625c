export { INGEST_LIMITS, interactionRow, validateInteraction } from './ingest.service';
export type { IngestService, InteractionRow, UncheckedInteractionRow } from './ingest.service';
export type { Direction } from './interaction.entity';
export { InteractionRef } from './interaction.graphql';
