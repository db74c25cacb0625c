import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../src/app';
import { seedDemoData } from '../../src/seed/demo-data';
import { startTestApp, type TestApp } from './app';
import { createTestDatabase } from './database';

/**
 * A Rapport for the console's screen tests: its own database with a small
 * demo data set (the generator `npm start` seeds, 400 customers), workers in
 * process so segments fill and recomputes finish, the gateway listening for
 * the browser, and the plugins/ connectors installed.
 */
export async function startSeededConsoleApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  await (await openDatabase(database.url, 'console-seed')).destroy();
  await seedDemoData(database.url, { customers: 400, interactions: 8000, seed: 7 });
  const app = await startTestApp({
    database,
    gateway: true,
    workers: true,
    env: { RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'), ...env },
  });
  const close = app.close.bind(app);
  // The database was made here, so it goes with the app.
  app.close = async () => {
    await close();
    await database.drop();
  };
  return app;
}
