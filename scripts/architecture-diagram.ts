import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CORE_SERVICES } from '../src/app-services';
import { MODULE_MAP_BEGIN, MODULE_MAP_END, moduleMap } from '../src/infra/module-map';
import { MODULES } from '../src/modules';

/** Rewrites the module map in docs/architecture.md from the module manifests. */
const file = path.join(__dirname, '..', 'docs', 'architecture.md');
const doc = readFileSync(file, 'utf8');
const begin = doc.indexOf(MODULE_MAP_BEGIN);
const end = doc.indexOf(MODULE_MAP_END);
if (begin < 0 || end < begin) throw new Error(`docs/architecture.md has no ${MODULE_MAP_BEGIN} … ${MODULE_MAP_END} block`);
const updated = `${doc.slice(0, begin + MODULE_MAP_BEGIN.length)}\n${moduleMap(MODULES, CORE_SERVICES)}\n${doc.slice(end)}`;
writeFileSync(file, updated);
console.log(updated === doc ? 'docs/architecture.md: module map already current' : 'docs/architecture.md: module map updated');
