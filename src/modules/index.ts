import type { EntityClass } from '../infra/database';
import type { AnyModule } from '../infra/module';
import { accessModule } from './access/module';
import { connectorsModule } from './connectors/module';
import { customersModule } from './customers/module';
import { eventsModule } from './events/module';
import { interactionsModule } from './interactions/module';
import { privacyModule } from './privacy/module';
import { realtimeModule } from './realtime/module';
import { scoresModule } from './scores/module';
import { segmentsModule } from './segments/module';

/**
 * Every module of Rapport. The assembler (src/app-services.ts) orders them by
 * what they need and provide; this list's order only breaks ties.
 */
export const MODULES: readonly AnyModule[] = [
  eventsModule,
  accessModule,
  customersModule,
  interactionsModule,
  scoresModule,
  segmentsModule,
  privacyModule,
  connectorsModule,
  realtimeModule,
];

/** Every entity the modules map, for the TypeORM DataSource. */
export const MODULE_ENTITIES: readonly EntityClass[] = MODULES.flatMap((module) => module.entities ?? []);
