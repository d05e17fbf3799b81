// Weekly restore of production into staging, with the SDK: a fresh snapshot of production restored into
// the staging database, which keeps its id and connection URL and serves production's data from then on
// (a running database restarts with it; see docs/backups.md).
//   ALLOTROPE_URL=… ALLOTROPE_CLIENT_ID=… ALLOTROPE_CLIENT_SECRET=… PROD_DB=<id> STAGING_DB=<id> npx tsx staging-refresh.ts
// cron: 0 4 * * 1
import { Allotrope } from 'allotrope/sdk';

const api = new Allotrope({ url: process.env.ALLOTROPE_URL!, clientId: process.env.ALLOTROPE_CLIENT_ID, clientSecret: process.env.ALLOTROPE_CLIENT_SECRET });
const prodId = process.env.PROD_DB!;
const stagingId = process.env.STAGING_DB!;

const taken = await api.snapshots.create(prodId, { label: `staging refresh ${new Date().toISOString().slice(0, 10)}` });
await api.waitForOperation(prodId, taken.operationId);
// The restore runs as an operation of the database restored into.
const { operationId } = await api.snapshots.restore(prodId, taken.snapshot.id, { targetDatabaseId: stagingId });
const op = await api.waitForOperation(stagingId, operationId, { onProgress: (o) => console.log(`${o.operationType}: ${o.steps.at(-1)?.name ?? 'queued'} ${o.status}`) });
console.log(`staging restored from snapshot ${taken.snapshot.id} in ${op.durationInSeconds} s`);
