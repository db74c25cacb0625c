#!/usr/bin/env node
// From a source checkout, run the TypeScript sources (through tsx); in a built image
// (no src/, see docker/Dockerfile), run the compiled output in dist/.
const path = require('node:path');
const fs = require('node:fs');
const source = path.join(__dirname, '..', 'src', 'main.ts');
if (fs.existsSync(source)) {
  require('tsx/cjs');
  require(source);
} else {
  require(path.join(__dirname, '..', 'dist', 'src', 'main.js'));
}
