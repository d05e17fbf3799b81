// Run as a child process by router-tls.test.ts: `bolt+s://` and `neo4j+s://` trust only the system's CAs,
// so a private CA reaches them the way an operator would give it, through NODE_EXTRA_CA_CERTS (read at
// process start). Env: URLS (JSON list), PASSWORD, DOMAIN, ADDRESS. Prints one JSON line:
// { "<driver> <url>": [names…] | "ERR <message>" }.
import neo4j6 from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { resolveDomainTo } from './test-dns.js';

resolveDomainTo(process.env.DOMAIN!, process.env.ADDRESS!);
const urls = JSON.parse(process.env.URLS!) as string[];
const out: Record<string, string[] | string> = {};
for (const [name, mod] of [['v6', neo4j6], ['v5', neo4j5]] as const) {
  for (const url of urls) {
    const driver = (mod as typeof neo4j6).driver(url, (mod as typeof neo4j6).auth.basic('neo4j', process.env.PASSWORD!));
    try {
      const res = await driver.executeQuery('MATCH (n:Marker) RETURN n.name AS name ORDER BY name');
      out[`${name} ${url}`] = res.records.map((r) => r.get('name') as string);
    } catch (err) {
      out[`${name} ${url}`] = `ERR ${(err as Error).message}`;
    } finally {
      await driver.close();
    }
  }
}
console.log(JSON.stringify(out));
