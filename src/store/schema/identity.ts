// Row types of the identity area: organizations, environments and their network rules, the per-organization
// privilege scope of each environment type, API clients, and recorded Idempotency-Key responses.
export interface OrganizationRow {
  id: string;
  name: string;
  created_at: string;
}

export interface EnvironmentRow {
  id: string;
  organization_id: string;
  label: string;
  /** development | staging | production */
  type: string;
  region: string;
  /** Private network range of the environment, or null. */
  cidr: string | null;
  created_at: string;
}

export interface NetworkRuleRow {
  id: string;
  organization_id: string;
  environment_id: string;
  label: string;
  /** CIDR, IPv4 or IPv6, in canonical form. */
  ip_range: string;
  created_at: string;
}

export interface EnvironmentTypeScopeRow {
  organization_id: string;
  /** development | staging | production */
  type: string;
  /** JSON array of DeploymentAction names operators may perform there. */
  allowed_actions: string;
  updated_at: string;
}

export interface ApiClientRow {
  id: string;
  organization_id: string;
  name: string;
  /** The public half of the credentials (`client_id`), 32 hex. */
  client_id: string;
  /** sha256 of the secret, hex (the secret has 256 bits of entropy; see src/auth/secrets.ts). */
  secret_hash: string;
  role: string;
  /** Bumped on secret refresh; tokens carry it, so older tokens stop working at once. */
  token_generation: number;
  /** When the current generation started (tokens issued earlier are revoked). */
  tokens_valid_after: string;
  created_at: string;
  last_used_at: string | null;
}

export interface ApiClientEnvironmentRow {
  api_client_id: string;
  environment_id: string;
  organization_id: string;
}

export interface IdempotencyKeyRow {
  organization_id: string;
  api_client_id: string;
  /** sha256 of the Idempotency-Key (the key itself is never stored). */
  key: string;
  /** sha256 of method, path and body: a repeat with a different request is a 409. */
  request_hash: string;
  /** null while the first request is still running. */
  status_code: number | null;
  /** The first answer, AES-256-GCM under a key derived from the Idempotency-Key (it may hold a shown-once secret). */
  response_body: string | null;
  response_content_type: string | null;
  created_at: string;
}

export interface IdentityTables {
  organizations: OrganizationRow;
  environments: EnvironmentRow;
  network_rules: NetworkRuleRow;
  environment_type_scopes: EnvironmentTypeScopeRow;
  api_clients: ApiClientRow;
  api_client_environments: ApiClientEnvironmentRow;
  idempotency_keys: IdempotencyKeyRow;
}
