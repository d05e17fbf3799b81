// Who is calling: set on every authenticated request by the bearer check (src/auth/), read by route
// handlers and passed to domain functions. Domain code scopes every lookup to `organizationId`.

import 'fastify';
export type Role = 'owner' | 'admin' | 'operator' | 'read-operator' | 'billing';

/** Deployment actions, as the environment-type privilege scope names them (api.md §2). */
export type DeploymentAction =
  | 'read'
  | 'create'
  | 'restart'
  | 'pause'
  | 'resume'
  | 'clone'
  | 'snapshot'
  | 'export'
  | 'change-plan'
  | 'switch-url'
  | 'terminate'
  | 'import'
  | 'restore'
  | 'empty';

export interface Caller {
  organizationId: string;
  /** The API client's id (entity id, 32 hex); for a web console session, the console user's id. */
  clientId: string;
  role: Role;
  /** Environment ids an operator/read-operator may use; owners and admins see every environment. */
  environmentIds: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}
