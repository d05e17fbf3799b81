// Whether a Bolt server lets a client in: true when verifyConnectivity succeeds, false when the server
// closes or refuses the connection (ServiceUnavailable); any other failure (a wrong password) throws.
import neo4j from 'neo4j-driver';

export async function boltConnects(url: string, username: string, password: string): Promise<boolean> {
  const d = neo4j.driver(url, neo4j.auth.basic(username, password), { connectionTimeout: 2_000 });
  try {
    await d.verifyConnectivity();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ServiceUnavailable') throw err;
    return false;
  } finally {
    await d.close();
  }
}
