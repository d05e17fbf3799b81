// Row types of the tables several control planes share through the store (migration 0006).
export interface StoreMetaRow {
  key: string;
  value: string;
  updated_at: string;
}

/** A named leadership (one scheduler at a time): held by `holder` until `expires_at`, renewed while it lives. */
export interface LeaderLeaseRow {
  name: string;
  holder: string;
  acquired_at: string;
  expires_at: string;
}

/** A JWT signing key (ES256 private JWK as JSON text); the newest signs, all are published. */
export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: string;
}

/** One failed token request from an address (the token endpoint's limiter). */
export interface TokenFailureRow {
  id: string;
  address: string;
  failed_at: string;
}

export interface SharedTables {
  store_meta: StoreMetaRow;
  leader_leases: LeaderLeaseRow;
  signing_keys: SigningKeyRow;
  token_failures: TokenFailureRow;
}
