// Versioned migrations, applied in name order at start-up. Append only: never edit a released one.
import type { Migration } from 'kysely';
import * as identity from './0001_identity.js';
import * as lifecycle from './0002_lifecycle.js';
import * as backups from './0003_backups.js';
import * as engines from './0004_engines.js';
import * as router from './0005_router.js';
import * as sharedStore from './0006_shared_store.js';
import * as billing from './0007_billing.js';
import * as webConsole from './0008_console.js';

export const migrations: Record<string, Migration> = {
  '0001_identity': identity,
  '0002_lifecycle': lifecycle,
  '0003_backups': backups,
  '0004_engines': engines,
  '0005_router': router,
  '0006_shared_store': sharedStore,
  '0007_billing': billing,
  '0008_console': webConsole,
};
