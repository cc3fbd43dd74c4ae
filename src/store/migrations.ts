/**
 * Schema migrations, applied in order; `PRAGMA user_version` holds the number applied. Each runs
 * in one `BEGIN IMMEDIATE` transaction. Times are Unix milliseconds; lists are JSON arrays; every
 * credential column holds a SHA-256 hex digest, never the credential.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE oauth_clients (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    secret_hash    TEXT,
    type           TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
    grant_types    TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    scopes         TEXT,
    auto_approve   INTEGER NOT NULL DEFAULT 0,
    source         TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'config', 'internal')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  );

  CREATE TABLE oauth_access_tokens (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     TEXT,
    name        TEXT,
    scopes      TEXT NOT NULL,
    audience    TEXT NOT NULL,
    grant_type  TEXT NOT NULL,
    family_id   TEXT,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  );
  CREATE INDEX oauth_access_tokens_client ON oauth_access_tokens (client_id);
  CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id);
  CREATE INDEX oauth_access_tokens_family ON oauth_access_tokens (family_id) WHERE family_id IS NOT NULL;
  CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens (expires_at);
  CREATE INDEX oauth_access_tokens_revoked ON oauth_access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

  CREATE TABLE oauth_refresh_tokens (
    id               TEXT PRIMARY KEY,
    token_hash       TEXT NOT NULL UNIQUE,
    access_token_id  TEXT NOT NULL,
    family_id        TEXT NOT NULL,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    audience         TEXT,
    auth_time        INTEGER,
    nonce            TEXT,
    rotated_at       INTEGER,
    revoked_at       INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
  );
  CREATE INDEX oauth_refresh_tokens_access ON oauth_refresh_tokens (access_token_id);
  CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
  CREATE INDEX oauth_refresh_tokens_client ON oauth_refresh_tokens (client_id);
  CREATE INDEX oauth_refresh_tokens_user ON oauth_refresh_tokens (user_id);
  CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);

  CREATE TABLE oauth_auth_codes (
    id                     TEXT PRIMARY KEY,
    code_hash              TEXT NOT NULL UNIQUE,
    client_id              TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL,
    scopes                 TEXT NOT NULL,
    redirect_uri           TEXT,
    code_challenge         TEXT,
    code_challenge_method  TEXT,
    nonce                  TEXT,
    resource               TEXT,
    auth_time              INTEGER,
    redeemed_at            INTEGER,
    revoked_at             INTEGER,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL
  );
  CREATE INDEX oauth_auth_codes_client ON oauth_auth_codes (client_id);
  CREATE INDEX oauth_auth_codes_expires ON oauth_auth_codes (expires_at);

  CREATE TABLE oauth_device_codes (
    id                TEXT PRIMARY KEY,
    device_code_hash  TEXT NOT NULL UNIQUE,
    user_code_hash    TEXT NOT NULL,
    client_id         TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes            TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id           TEXT,
    interval          INTEGER NOT NULL,
    last_polled_at    INTEGER,
    decided_at        INTEGER,
    redeemed_at       INTEGER,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
  );
  CREATE INDEX oauth_device_codes_user_code ON oauth_device_codes (user_code_hash);
  CREATE INDEX oauth_device_codes_client ON oauth_device_codes (client_id);
  CREATE INDEX oauth_device_codes_expires ON oauth_device_codes (expires_at);
  `,
  // 2: indexes that cost purge (and every insert) more than they serve. An index on user_id
  // lists rows in an order unrelated to their age, so deleting a window of expired rows dirties a
  // page of it for nearly every user: a million-row purge wrote ~13 GB. Revoking a user's tokens
  // and listing their active ones ask for live tokens (expires_at > now): they range over
  // (expires_at, user_id) and read user_id from the index, as MAX(expires_at) does. Only
  // `token:list --user U --all` (expired ones too) now walks the id index newest first until it
  // has its page. Revoking a user's refresh tokens likewise asks for live (unrevoked, unexpired)
  // ones: a partial (expires_at, user_id) index, which a rotated (revoked) refresh token leaves.
  // No query reads access tokens' revoked_at through an index.
  `
  DROP INDEX oauth_access_tokens_user;
  DROP INDEX oauth_access_tokens_expires;
  DROP INDEX oauth_access_tokens_revoked;
  CREATE INDEX oauth_access_tokens_expires_user ON oauth_access_tokens (expires_at, user_id);
  DROP INDEX oauth_refresh_tokens_expires;
  DROP INDEX oauth_refresh_tokens_user;
  CREATE INDEX oauth_refresh_tokens_expires_user ON oauth_refresh_tokens (expires_at, user_id) WHERE revoked_at IS NULL;
  `,
  // 3: the client_id indexes of the two token tables served only ON DELETE CASCADE when a client
  // is deleted, yet every issued token and every purged row paid for them: a 1,000,000-row purge
  // took ~1 s less without them (6.2–6.4 s → 4.8–5.5 s, standalone). Deleting a client now scans
  // the token tables once each, a fraction of a second even at a million rows; `token:list
  // --client` already walked the id index newest first.
  `
  DROP INDEX oauth_access_tokens_client;
  DROP INDEX oauth_refresh_tokens_client;
  `,
  // 4: pushed authorization requests (RFC 9126). A request_uri is stored only as its SHA-256;
  // `parameters` holds the pushed authorization parameters (never client credentials) as a JSON
  // array of [name, value] pairs. Expired rows are swept on every push; each client keeps at
  // most a fixed number of live ones.
  `
  CREATE TABLE oauth_pushed_requests (
    id                TEXT PRIMARY KEY,
    request_uri_hash  TEXT NOT NULL UNIQUE,
    client_id         TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    parameters        TEXT NOT NULL,
    used_at           INTEGER,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
  );
  CREATE INDEX oauth_pushed_requests_client ON oauth_pushed_requests (client_id);
  CREATE INDEX oauth_pushed_requests_expires ON oauth_pushed_requests (expires_at);
  `,
  // 5: MCP (SPEC §10.1, §10.2, §10.4, §10.6). Clients gain how they authenticate at the token
  // endpoint, their keys for private_key_jwt (`jwks` as JSON, or `jwks_uri`), the other RFC 7591
  // metadata they registered (JSON), and two sources: `registered` (POST /register) and
  // `metadata` (a client ID metadata document). SQLite cannot widen a CHECK constraint in place,
  // so the table is rebuilt (migrate() runs steps with foreign keys off and checks them after).
  // Device codes remember their RFC 8707 resources (JSON array), as auth codes do in `resource`.
  `
  CREATE TABLE oauth_clients_v5 (
    id                          TEXT PRIMARY KEY,
    name                        TEXT NOT NULL,
    secret_hash                 TEXT,
    type                        TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
    grant_types                 TEXT NOT NULL,
    redirect_uris               TEXT NOT NULL,
    scopes                      TEXT,
    auto_approve                INTEGER NOT NULL DEFAULT 0,
    source                      TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'config', 'internal', 'registered', 'metadata')),
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    token_endpoint_auth_method  TEXT,
    jwks                        TEXT,
    jwks_uri                    TEXT,
    metadata                    TEXT
  );
  INSERT INTO oauth_clients_v5 (id, name, secret_hash, type, grant_types, redirect_uris, scopes, auto_approve, source, created_at, updated_at)
    SELECT id, name, secret_hash, type, grant_types, redirect_uris, scopes, auto_approve, source, created_at, updated_at FROM oauth_clients;
  DROP TABLE oauth_clients;
  ALTER TABLE oauth_clients_v5 RENAME TO oauth_clients;
  CREATE INDEX oauth_clients_source ON oauth_clients (source, created_at);

  ALTER TABLE oauth_device_codes ADD COLUMN resources TEXT;
  `,
  // 6: resources registered at run time (`passport protect` registers the resource it guards with
  // the authority whose database it shares); the configuration's `resources` stay in the file.
  `
  CREATE TABLE oauth_resources (
    uri         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scopes      TEXT,
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
  );
  `,
  // 7: DPoP (RFC 9449). A refresh token of a public client is bound to the key its first token
  // request proved (`jkt`, an RFC 7638 thumbprint); an authorization code to the `dpop_jkt` sent
  // to /authorize. Access tokens carry their binding in the JWT (`cnf.jkt`).
  `
  ALTER TABLE oauth_refresh_tokens ADD COLUMN jkt TEXT;
  ALTER TABLE oauth_auth_codes ADD COLUMN dpop_jkt TEXT;
  `,
  // 8: post-logout redirect URIs (OpenID Connect RP-Initiated Logout), matched exactly; null: only
  // the client's redirect URIs count (issue 18 finding 6).
  `
  ALTER TABLE oauth_clients ADD COLUMN post_logout_redirect_uris TEXT;
  `,
  // 9: per-database settings; `user_code_key` is the random HMAC-SHA-256 key of device user codes
  // (issue 18 finding 13: an unsalted SHA-256 of 20^8 values is reversible). Codes hashed before
  // this step no longer match: pending device sign-ins must be started again.
  `
  CREATE TABLE passport_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  INSERT INTO passport_settings (name, value) VALUES ('user_code_key', lower(hex(randomblob(32))));
  `,
]
