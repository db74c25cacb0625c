#!/usr/bin/env node
/**
 * Builds the console (vite build) when dist/ is missing or older than any of
 * its sources, and does nothing otherwise. `npm start` runs it first (the
 * root package's `prestart`), and so do the browser tests, so a fresh clone
 * serves a console without a separate build step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = path.join(root, 'dist', 'index.html');
const sources = ['index.html', 'vite.config.ts', 'package.json', 'tsconfig.json', 'src'].map((p) => path.join(root, p));

function newest(file) {
  if (!existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(file).map((name) => newest(path.join(file, name))));
}

const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
const changedAt = Math.max(...sources.map(newest));
if (builtAt >= changedAt) process.exit(0);

console.log(builtAt === 0 ? 'Building the console (packages/console)…' : 'The console changed since its build: building it again…');
const vite = path.join(root, 'node_modules', '.bin', 'vite');
const bin = existsSync(vite) ? vite : path.join(root, '..', '..', 'node_modules', '.bin', 'vite');
const result = spawnSync(bin, ['build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
