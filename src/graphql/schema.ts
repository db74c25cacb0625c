import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './scalars';
import './common.graphql';
// Every module manifest imports the GraphQL files it declares, which registers their types.
import '../modules';
import { applyPersonalDataMasking } from '../modules/access/pii';

builder.queryType({ description: 'Reads: customers, their interactions, segments and scores.' });
builder.mutationType({ description: 'Writes: batch ingestion and administration; every batch returns one result per row.' });

let schema: GraphQLSchema | undefined;

/** The schema, built once from the GraphQL files every module manifest declares (importing them registered their types). */
export function getSchema(): GraphQLSchema {
  schema ??= applyPersonalDataMasking(builder.toSchema({ sortSchema: true }));
  return schema;
}
