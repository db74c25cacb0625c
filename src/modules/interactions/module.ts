import type { DataSource } from 'typeorm';
import type { Logger } from '../../infra/logger';
import { defineModule } from '../../infra/module';
import type { RefreshGatherer } from '../customers';
import type { TombstoneHasher } from '../customers';
import type { EventBus } from '../events';
import { IngestService } from './ingest.service';
import * as interactionGraphql from './interaction.graphql';
import { InteractionQueryService } from './interaction-query.service';

/** Interactions: batch ingestion (resolving customers), reads and timelines. */
export const interactionsModule = defineModule({
  name: 'interactions',
  needs: ['logger', 'dataSource', 'refreshes', 'tombstones', 'events'],
  provides: ['ingest', 'interactionQueries'],
  graphql: [interactionGraphql],
  events: { publishes: ['interaction.recorded'], subscribes: [] },
  create({
    logger,
    dataSource,
    refreshes,
    tombstones,
    events,
  }: {
    logger: Logger;
    dataSource: DataSource;
    refreshes: RefreshGatherer;
    tombstones: TombstoneHasher;
    events: EventBus;
  }) {
    return {
      ingest: new IngestService(dataSource, refreshes.request, logger.child({ component: 'ingest' }), tombstones, events),
      interactionQueries: new InteractionQueryService(dataSource),
    };
  },
});
