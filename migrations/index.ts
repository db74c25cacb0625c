import { CoreDataModel1763800000000 } from './1763800000000-core-data-model';

/** Migrations in order. Immutable once landed: change the schema with a new one. */
export const migrations = [CoreDataModel1763800000000];
