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
