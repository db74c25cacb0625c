import type { DataSource } from 'typeorm';
import type { QueueBackend } from '../../infra/queue';
import { defineModule } from '../../infra/module';
import type { RefreshGatherer } from '../customers';
import type { TombstoneHasher } from '../customers';
import { enqueueRecompute } from '../scores';
import * as privacyGraphql from './privacy.graphql';
import { PrivacyService } from './privacy.service';

/** Consent, export and erasure of a customer's personal data. */
export const privacyModule = defineModule({
  name: 'privacy',
  needs: ['dataSource', 'queues', 'refreshes', 'tombstones'],
  provides: ['privacy'],
  graphql: [privacyGraphql],
  events: { publishes: ['customer.erased'], subscribes: [] },
  create({
    dataSource,
    queues,
    refreshes,
    tombstones,
  }: {
    dataSource: DataSource;
    queues: QueueBackend;
    refreshes: RefreshGatherer;
    tombstones: TombstoneHasher;
  }) {
    const privacy = new PrivacyService(dataSource, refreshes.request, tombstones);
    // An erasure changes the base that segment sizes and score quantiles are computed over.
    privacy.onErased(async () => {
      await enqueueRecompute(queues, []);
    });
    return { privacy };
  },
});
