export { INGEST_LIMITS, interactionRow } from './ingest.service';
export type { IngestService, InteractionRow } from './ingest.service';
