/**
 * Runs an embedded Postgres cluster of a fault drill's own, outside Jest
 * (whose module system cannot load the binaries package, an ES module), and
 * takes commands on stdin, one a line: `stop`, `start`, `exit` (stops it).
 * Answers each with one JSON line: `{"ok":true,"adminUrl":…,"port":…}` or
 * `{"ok":false,"error":…}`. Usage: node -r tsx/cjs pg-control.ts <dataDir>
 */
import { createInterface } from 'node:readline';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/embedded-postgres';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: pg-control.ts <dataDir>');
let handle: EmbeddedPostgresHandle | undefined;
let port: number | undefined;

const answer = (body: Record<string, unknown>) => process.stdout.write(JSON.stringify(body) + '\n');

async function start(): Promise<void> {
  handle = await startEmbeddedPostgres({ dataDir: dataDir!, port, ephemeral: true });
  port = handle.port;
  answer({ ok: true, adminUrl: handle.adminUrl, port });
}

async function handleLine(line: string): Promise<void> {
  try {
    if (line === 'start') return await start();
    if (line === 'stop' || line === 'exit') {
      await handle?.stop();
      handle = undefined;
      answer({ ok: true });
      if (line === 'exit') process.exit(0);
      return;
    }
    answer({ ok: false, error: `unknown command ${line}` });
  } catch (error) {
    answer({ ok: false, error: String(error) });
  }
}

// Commands run one after another.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() => handleLine(line.trim()));
});
// The drill went away without `exit`: stop the cluster anyway.
process.stdin.on('end', () => {
  queue = queue.then(async () => {
    await handle?.stop();
    process.exit(0);
  });
});
void start().catch((error: unknown) => {
  answer({ ok: false, error: String(error) });
  process.exit(1);
});
