import type { DataSource } from 'typeorm';
import { defineModule } from '../../infra/module';
import type { RefreshGatherer } from '../customers';
import type { TombstoneHasher } from '../customers';
import type { MergeService } from '../merges';
import * as privacyGraphql from './privacy.graphql';
import { PrivacyService } from './privacy.service';

/** Consent, export and erasure of a customer's personal data. */
export const privacyModule = defineModule({
  name: 'privacy',
  needs: ['dataSource', 'refreshes', 'tombstones', 'merges'],
  provides: ['privacy'],
  graphql: [privacyGraphql],
  events: { publishes: ['customer.erased'], subscribes: [] },
  create({
    dataSource,
    refreshes,
    tombstones,
    merges,
  }: {
    dataSource: DataSource;
    refreshes: RefreshGatherer;
    tombstones: TombstoneHasher;
    merges: MergeService;
  }) {
    return { privacy: new PrivacyService(dataSource, refreshes.request, tombstones, merges) };
  },
});
