import request from 'supertest';
import { startTestApp } from '../helpers/app';
import { readinessOf } from '../../src/infra/readiness';

describe('/readyz', () => {
  test('reports each dependency, the queue backend and the dirty backlog with its age', async () => {
    const app = await startTestApp({ queue: 'postgres' });
    try {
      const [{ id }] = await app.sql<{ id: string }>(`INSERT INTO customers (display_name) VALUES ('x') RETURNING id::text`);
      await app.sql(`UPDATE customers SET dirty_since = now() - interval '90 seconds' WHERE id = $1`, [id]);
      const ready = await request(app.handler).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', checks: { database: 'ok', queue: 'ok' }, queueBackend: 'postgres', dirtyBacklog: { count: 1 } });
      expect(ready.body.dirtyBacklog.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
      expect(ready.body.dirtyBacklog.oldestAgeSeconds).toBeLessThan(3_600);
    } finally {
      await app.close();
    }
  });

  test('a queue that does not answer makes it 503 with the reason; the database check stays ok', async () => {
    const app = await startTestApp({ queue: { kind: 'redis', url: 'redis://127.0.0.1:1' } });
    try {
      const answer = await request(app.handler).get('/readyz');
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: 'not ready', checks: { database: 'ok' }, queueBackend: 'redis' });
      expect(answer.body.checks.queue).not.toBe('ok');
      expect(answer.body.checks.queue.length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  test('draining answers 503 at once, before any dependency is asked, and stop() drains first', async () => {
    const app = await startTestApp({ queue: 'postgres' });
    try {
      expect((await request(app.handler).get('/readyz')).status).toBe(200);
      readinessOf(app.runtime.services).drain();
      app.resetStatements();
      const draining = await request(app.handler).get('/readyz');
      expect(draining.status).toBe(503);
      expect(draining.body.status).toBe('draining');
      expect(app.statements).toEqual([]);
      // Liveness is unaffected: the process is alive while it drains.
      expect((await request(app.handler).get('/healthz')).status).toBe(200);
      expect(app.runtime.readiness.draining).toBe(true);
    } finally {
      await app.close();
    }
    const other = await startTestApp({ queue: 'postgres' });
    await other.runtime.stop();
    expect(other.runtime.readiness.draining).toBe(true);
    await other.dataSource.destroy();
    await other.database.drop();
  });
});
