import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * The browser the web-page tests drive: Debian's Chromium (`apt-get install -y
 * chromium`, as .ci/run does), never a browser downloaded at install time.
 */
export const CHROMIUM = process.env.RAPPORT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, and quiet on the network: no background traffic of Chromium's own
 * (updates, sync, safe browsing), and every host but loopback unresolvable, so
 * a page that reached for a CDN would fail here as it does on a closed network.
 */
export function chromiumArgs(): string[] {
  return [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  ];
}

/**
 * Builds the console (packages/console) when its build is missing or older
 * than its sources, as `npm start` does, so the browser tests run on a fresh
 * clone. Throws with vite's output when the build fails. Jest's global setup
 * runs it once before any test file (two vite builds of one output at once
 * refuse each other); a browser test calling it again finds the build current.
 */
export function ensureConsoleBuilt(): void {
  const result = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'packages', 'console', 'scripts', 'ensure-built.mjs')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the console did not build:\n${result.stdout}\n${result.stderr}`);
}
