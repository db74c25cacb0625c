import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './scalars';
import './common.graphql';
import '../modules/customers/customer.graphql';
import '../modules/interactions/interaction.graphql';
import '../modules/connectors/connector.graphql';
import '../modules/connectors/webhook-refusal.graphql';
import '../modules/scores/score.graphql';
import '../modules/segments/segment.graphql';

import '../modules/access/access.graphql';
import '../modules/privacy/privacy.graphql';
import { applyPersonalDataMasking } from '../modules/access/pii';

builder.queryType({ description: 'Reads: customers, their interactions, segments and scores.' });
builder.mutationType({ description: 'Writes: batch ingestion and administration; every batch returns one result per row.' });

let schema: GraphQLSchema | undefined;

/** The schema, built once from every module's `*.graphql.ts`. */
export function getSchema(): GraphQLSchema {
  schema ??= applyPersonalDataMasking(builder.toSchema({ sortSchema: true }));
  return schema;
}
