import type { AnyModule } from '../infra/module';
import { accessModule } from './access/module';
import { alertsModule } from './alerts/module';
import { connectorsModule } from './connectors/module';
import { customersModule } from './customers/module';
import { eventsModule } from './events/module';
import { identityModule } from './identity/module';
import { interactionsModule } from './interactions/module';
import { mergesModule } from './merges/module';
import { operationsModule } from './operations/module';
import { privacyModule } from './privacy/module';
import { realtimeModule } from './realtime/module';
import { recommendationsModule } from './recommendations/module';
import { scoresModule } from './scores/module';
import { segmentsModule } from './segments/module';
import { webhooksModule } from './webhooks/module';

/**
 * Every module of Rapport. The assembler (src/app-services.ts) orders them by
 * what they need and provide; this list's order only breaks ties.
 */
const MANIFESTS = [
  eventsModule,
  accessModule,
  customersModule,
  interactionsModule,
  scoresModule,
  recommendationsModule,
  segmentsModule,
  privacyModule,
  connectorsModule,
  realtimeModule,
  identityModule,
  mergesModule,
  operationsModule,
  webhooksModule,
  alertsModule,
] as const;

export const MODULES: readonly AnyModule[] = MANIFESTS;

/** The name of a module of {@link MODULES}. */
export type ModuleName = (typeof MANIFESTS)[number]['name'];

/** The manifest of the module named `Name`, with its own types. */
export type ModuleManifest<Name extends ModuleName> = Extract<(typeof MANIFESTS)[number], { name: Name }>;
