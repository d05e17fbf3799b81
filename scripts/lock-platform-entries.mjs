#!/usr/bin/env node
// The registry this project builds from serves only @grafeo-db/js's linux-x64-gnu binary, so npm leaves the
// other platforms' optional packages out of package-lock.json and `npm ci` then refuses the lock as out of
// sync. This adds their entries (each skipped on a platform it doesn't match, fetched on one it does).
// Run after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const base = lock.packages['node_modules/@grafeo-db/js'];
const platforms = {
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
};
let added = 0;
for (const [name, fields] of Object.entries(platforms)) {
  const key = `node_modules/@grafeo-db/js-${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = { version: base.version, ...fields, license: 'Apache-2.0', optional: true, engines: { node: '>=20' } };
  added++;
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
lock.packages = sorted;
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform entr${added === 1 ? 'y' : 'ies'}`);
