// Row types of the web console: the people who sign in to it and their sessions.
export interface ConsoleUserRow {
  id: string;
  organization_id: string;
  username: string;
  /** scrypt$N$r$p$salt$hash (src/auth/passwords.ts); never the password. */
  password_hash: string;
  /** owner | admin (the Caller role a session of this user acts with). */
  role: string;
  created_at: string;
}

export interface ConsoleSessionRow {
  /** sha256 of the session cookie's value; the value itself is never stored. */
  token_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
}

export interface ConsoleTables {
  console_users: ConsoleUserRow;
  console_sessions: ConsoleSessionRow;
}
