import { lexicographicSortSchema, printSchema } from 'graphql';
import { getSchema } from './schema';

/** The schema as committed in `schema.graphql`: sorted, so diffs show real changes only. */
export function printSchemaSDL(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n';
}
