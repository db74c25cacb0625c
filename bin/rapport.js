#!/usr/bin/env node
// Runs the compiled CLI when built (`npm run build`), the TypeScript sources otherwise.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'src', 'main.js');
if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'main.ts'));
}
