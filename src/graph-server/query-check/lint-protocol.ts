// Messages between the checker and its lint worker threads (plain data: structured clone).

/** One diagnostic of Neo4j's front-end, position already 1-based as Neo4j reports it. */
export interface LintDiagnostic {
  severity: 'error' | 'warning';
  message: string;
  offset: number;
  line: number;
  column: number;
}

export interface LintRequest {
  id: number;
  query: string;
}

export type LintReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; diagnostics: LintDiagnostic[]; elapsedMs: number }
  | { type: 'failed'; id: number; message: string };
