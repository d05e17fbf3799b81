// Nightly pause of non-production databases (and the morning resume), with the SDK.
//   ALLOTROPE_URL=… ALLOTROPE_CLIENT_ID=… ALLOTROPE_CLIENT_SECRET=… npx tsx nightly-pause.ts pause|resume
// cron: 0 20 * * 1-5  … pause     and     0 7 * * 1-5  … resume
import { Allotrope, AllotropeError, paginate } from 'allotrope/sdk';

const action = process.argv[2] === 'resume' ? 'resume' : 'pause';
const api = new Allotrope({ url: process.env.ALLOTROPE_URL!, clientId: process.env.ALLOTROPE_CLIENT_ID, clientSecret: process.env.ALLOTROPE_CLIENT_SECRET });

const nonProduction = (await api.environments.list({ limit: 1000 })).filter((e) => e.type !== 'production');
const started: { id: string; name: string; operationId: string }[] = [];
for (const env of nonProduction) {
  const state = action === 'pause' ? 'running' : 'paused';
  for await (const db of paginate((page) => api.databases.list({ ...page, environmentId: env.id, state }))) {
    try {
      const { operationId } = action === 'pause' ? await api.databases.pause(db.id) : await api.databases.resume(db.id);
      started.push({ id: db.id, name: db.name, operationId });
    } catch (err) {
      // 409: its state changed meanwhile, or another operation runs on it. Leave it and say so.
      if (err instanceof AllotropeError && err.status === 409) console.warn(`${db.name}: skipped: ${err.error}`);
      else throw err;
    }
  }
}
let failed = 0;
for (const s of started) {
  try {
    await api.waitForOperation(s.id, s.operationId, { timeout: 10 * 60_000 });
    console.log(`${s.name}: ${action}d`);
  } catch (err) {
    failed++;
    console.error(`${s.name}: ${(err as Error).message}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
