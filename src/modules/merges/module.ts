import type { DataSource } from 'typeorm';
import { defineModule } from '../../infra/module';
import type { RefreshGatherer } from '../customers';
import type { SegmentService } from '../segments';
import { IdentityPolicyService } from './identity-policy.service';
import * as mergesGraphql from './merges.graphql';
import { MergeService } from './merge.service';

interface MergesDeps {
  dataSource: DataSource;
  refreshes: RefreshGatherer;
  segments: SegmentService;
}

/** Merging customers into a survivor and undoing it; redirects of merged ids; what an identity conflict on ingest does (policies, guard rails). */
export const mergesModule = defineModule({
  name: 'merges',
  needs: ['dataSource', 'refreshes', 'segments'],
  provides: ['merges', 'identityPolicies'],
  graphql: [mergesGraphql],
  events: { publishes: ['customer.merged', 'customer.unmerged', 'identity.conflict_flagged'], subscribes: ['identity.conflicted'] },
  create({ dataSource, refreshes, segments }: MergesDeps) {
    const merges = new MergeService(dataSource, segments, refreshes.request);
    return { merges, identityPolicies: new IdentityPolicyService(dataSource, merges) };
  },
  subscriptions: [
    // An ingest conflict under MERGE or FLAG is settled in the ingest's transaction: the row's customer must be final when it commits.
    {
      delivery: 'transaction',
      event: 'identity.conflicted',
      consumer: 'merges',
      create:
        ({ identityPolicies }) =>
        async (conflict, manager) => {
          await identityPolicies.onConflict(manager, conflict);
        },
    },
  ],
});
