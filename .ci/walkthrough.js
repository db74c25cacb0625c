#!/usr/bin/env node
/**
 * Runs docs/connectors.md's walkthrough ("from an empty folder to an installed
 * package") as written: every ```sh block in order, in one bash session in a
 * new empty folder, with RAPPORT set to this checkout. The one ```sh server
 * block (starting Rapport, "in a terminal") runs in the background in a process
 * group of its own; after the last block it is stopped as Ctrl-C stops it
 * (SIGINT to the group) and must exit 0 with its embedded Postgres stopped.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const heading = '\n## Walkthrough: from an empty folder to an installed package\n';
const doc = fs.readFileSync(path.join(root, 'docs/connectors.md'), 'utf8');
const start = doc.indexOf(heading);
if (start < 0) throw new Error('docs/connectors.md has no walkthrough section');
const end = doc.indexOf('\n## ', start + heading.length);
const section = doc.slice(start, end < 0 ? undefined : end);
const blocks = [...section.matchAll(/^```(sh|sh server)\n([\s\S]*?)^```$/gm)].map(([, info, code]) => ({ server: info === 'sh server', code }));
if (blocks.filter((block) => block.server).length !== 1) throw new Error('the walkthrough must start Rapport in exactly one ```sh server block');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-walkthrough-'));
const dataDir = '/tmp/rapport-walkthrough';
fs.rmSync(dataDir, { recursive: true, force: true });
const serverLog = path.join(work, 'server.log');
let script = `set -euo pipefail
set -m
SERVER=
trap 'if [ -n "$SERVER" ]; then kill -INT -- -"$SERVER" 2>/dev/null; echo "--- Rapport output:"; cat ${JSON.stringify(serverLog)}; fi' EXIT
`;
for (const block of blocks) {
  if (block.server) script += `( ${block.code.trim()} ) > ${JSON.stringify(serverLog)} 2>&1 &\nSERVER=$!\n`;
  else script += `${block.code}\n`;
}
script += `kill -INT -- -"$SERVER"
wait "$SERVER"
SERVER=
test ! -e ${JSON.stringify(path.join(dataDir, 'pg', 'postmaster.pid'))}
echo "walkthrough: every command ran as written"
`;
fs.writeFileSync(path.join(work, '.walkthrough.sh'), script);
const started = Date.now();
const result = spawnSync('bash', [path.join(work, '.walkthrough.sh')], {
  cwd: work,
  env: { ...process.env, RAPPORT: root },
  stdio: 'inherit',
  timeout: 20 * 60_000,
});
// What the walkthrough costs a partner in waiting, besides reading: docs/connectors.md quotes it.
console.log(`walkthrough: ${((Date.now() - started) / 1000).toFixed(0)} s from an empty folder to the package installed and Rapport stopped`);
if (result.status === 0) fs.rmSync(work, { recursive: true, force: true });
process.exit(result.status ?? 1);
