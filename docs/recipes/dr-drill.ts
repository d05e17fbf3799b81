// Disaster-recovery drill, with the SDK: snapshot the production database, restore the snapshot into a
// fresh database in a drill environment, check the data answers there, and remove the drill database.
//   ALLOTROPE_URL=… ALLOTROPE_CLIENT_ID=… ALLOTROPE_CLIENT_SECRET=… PROD_DB=<id> DRILL_ENV=<environment id> npx tsx dr-drill.ts
import neo4j from 'neo4j-driver';
import { Allotrope } from 'allotrope/sdk';

const api = new Allotrope({ url: process.env.ALLOTROPE_URL!, clientId: process.env.ALLOTROPE_CLIENT_ID, clientSecret: process.env.ALLOTROPE_CLIENT_SECRET });
const prodId = process.env.PROD_DB!;
const drillEnv = process.env.DRILL_ENV!;
const started = Date.now();

const prod = await api.databases.get(prodId);
const taken = await api.snapshots.create(prodId, { label: `dr-drill ${new Date().toISOString().slice(0, 10)}` });
await api.waitForOperation(prodId, taken.operationId);
const snapshot = await api.snapshots.get(prodId, taken.snapshot.id);
console.log(`snapshot ${snapshot.id}: ${snapshot.counts?.nodes} nodes, ${snapshot.counts?.relationships} relationships, sha256 ${snapshot.sha256}`);

const drill = await api.databases.create({ environmentId: drillEnv, name: `${prod.name}-dr-drill`, plan: prod.plan, fromSnapshotId: snapshot.id });
try {
  await api.waitForOperation(drill.database.id, drill.operationId);
  const db = await api.databases.get(drill.database.id);
  const driver = neo4j.driver(db.connectionUrls.bolt, neo4j.auth.basic(drill.credentials.username, drill.credentials.password));
  try {
    const { records } = await driver.executeQuery('MATCH (n) RETURN count(n) AS nodes');
    const nodes = records[0]!.get('nodes').toNumber();
    if (nodes !== snapshot.counts?.nodes) throw new Error(`the restored database has ${nodes} nodes, the snapshot ${snapshot.counts?.nodes}`);
    console.log(`restored and serving ${nodes} nodes; recovery took ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await driver.close();
  }
} finally {
  const { operationId } = await api.databases.delete(drill.database.id);
  await api.waitForOperation(drill.database.id, operationId);
}
