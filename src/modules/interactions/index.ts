export { INGEST_LIMITS, INTERACTION_RECORDED_ROWS, interactionRow, validateInteraction } from './ingest.service';
export type { IngestService, InteractionRow, UncheckedInteractionRow } from './ingest.service';
export type { Direction } from './interaction.entity';
