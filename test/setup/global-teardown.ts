import { rmSync } from 'node:fs';
import type { TestServices } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>).__rapportTestServices as TestServices | undefined;
  if (!services) return;
  services.redis?.kill('SIGTERM');
  await services.pg.stop();
  rmSync(services.root, { recursive: true, force: true });
}
