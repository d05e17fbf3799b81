// Worker thread: runs Neo4j's Cypher front-end (@neo4j-cypher/language-support) so its
// 30–100 ms per new query (and seconds for large scripts) never block the event loop.
import { parentPort } from 'node:worker_threads';
import { lintCypherQuery } from '@neo4j-cypher/language-support';
import type { LintDiagnostic, LintReply, LintRequest } from './lint-protocol.js';

const port = parentPort;
if (!port) throw new Error('lint-worker must run in a worker thread');

// Error and Warning in the LSP DiagnosticSeverity enum; Information/Hint are editor-only.
const SEVERITY_ERROR = 1;
const SEVERITY_WARNING = 2;

function lint(query: string): LintDiagnostic[] {
  // Console commands (:param, :use) are a Neo4j Browser feature, not Cypher a server accepts.
  const { diagnostics } = lintCypherQuery(query, {}, { consoleCommandsEnabled: false });
  const out: LintDiagnostic[] = [];
  for (const d of diagnostics) {
    if (d.severity !== SEVERITY_ERROR && d.severity !== SEVERITY_WARNING) continue;
    out.push({
      severity: d.severity === SEVERITY_ERROR ? 'error' : 'warning',
      message: typeof d.message === 'string' ? d.message : d.message.value,
      offset: Math.max(0, d.offsets.start),
      line: Math.max(0, d.range.start.line) + 1,
      column: Math.max(0, d.range.start.character) + 1,
    });
  }
  return out;
}

// The first analysis loads and JITs the 5 MB front-end (~0.5 s); pay it before real queries.
lint('MATCH (n:Warm)-[r:UP]->(m) WHERE n.x = $p RETURN m.y AS y ORDER BY y LIMIT 1');
port.postMessage({ type: 'ready' } satisfies LintReply);

port.on('message', (request: LintRequest) => {
  const started = performance.now();
  let reply: LintReply;
  try {
    reply = { type: 'result', id: request.id, diagnostics: lint(request.query), elapsedMs: performance.now() - started };
  } catch (err) {
    reply = { type: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
