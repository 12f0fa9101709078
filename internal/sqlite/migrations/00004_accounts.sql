-- Accounts and memberships (api.md v1.1): an account is global (one email,
-- password, second factor), a membership gives it a role and a display name
-- in one tenant. A user id in the API is the account id, so
-- orders.owner_id, sessions.user_id, api_keys.created_by, audit actor ids
-- and token subjects keep their meaning. Every existing user becomes an
-- account with one membership, whose tenant is its last used tenant.
--
-- sessions must now reference memberships, and session_token_hashes must
-- follow a session that moves to another tenant of its account (switch
-- tenant): both tables are rebuilt, which SQLite does by copying. A DROP
-- TABLE is an implicit DELETE, so with foreign keys on, dropping the old
-- users or sessions table would cascade into sessions and token hashes. The
-- migration therefore runs outside goose's transaction, turns foreign keys
-- off (a no-op inside a transaction), does the work in its own transaction,
-- and refuses to commit unless foreign_key_check finds nothing. The store's
-- Migrate turns foreign keys back on and rolls back whatever a failure
-- left open.

-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE accounts (
	id TEXT NOT NULL PRIMARY KEY,
	email TEXT NOT NULL,
	-- rampart.EmailKey(email): one account per address.
	email_key TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
	mfa_enabled INTEGER NOT NULL CHECK (mfa_enabled IN (0, 1)),
	totp_secret BLOB,
	totp_last_step INTEGER NOT NULL,
	recovery_code_hashes TEXT NOT NULL,
	-- No foreign key: a hint for sign-in, checked against the memberships.
	last_tenant_id TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

INSERT INTO accounts (id, email, email_key, password_hash, email_verified, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, last_tenant_id, created_at, updated_at)
SELECT id, email, email_key, password_hash, 0, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, tenant_id, created_at, updated_at FROM users;

CREATE TABLE memberships (
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	account_id TEXT NOT NULL REFERENCES accounts (id),
	role TEXT NOT NULL CHECK (role IN ('member', 'admin')),
	display_name TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	-- Also the target of the sessions foreign key, which makes a session's
	-- tenant always one of its account's tenants.
	PRIMARY KEY (tenant_id, account_id)
) STRICT, WITHOUT ROWID;

INSERT INTO memberships (tenant_id, account_id, role, display_name, created_at, updated_at)
SELECT tenant_id, id, role, display_name, created_at, updated_at FROM users;

CREATE TABLE sessions_new (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE,
	previous_token_hash BLOB,
	rotated_at INTEGER,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER,
	revoked_reason TEXT NOT NULL,
	auth_time INTEGER,
	client_address TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, account_id) ON DELETE CASCADE
) STRICT;

INSERT INTO sessions_new (id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent)
SELECT id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent FROM sessions;

-- ON UPDATE CASCADE: a session that switches tenant takes its hashes along.
CREATE TABLE session_token_hashes_new (
	token_hash BLOB NOT NULL PRIMARY KEY,
	session_id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	replaced_at INTEGER,
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE ON UPDATE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO session_token_hashes_new (token_hash, session_id, tenant_id, replaced_at)
SELECT token_hash, session_id, tenant_id, replaced_at FROM session_token_hashes;

DROP TABLE session_token_hashes;
DROP TABLE sessions;
DROP TABLE users;
ALTER TABLE sessions_new RENAME TO sessions;
ALTER TABLE session_token_hashes_new RENAME TO session_token_hashes;

CREATE INDEX memberships_by_tenant ON memberships (tenant_id, created_at, account_id);
CREATE INDEX memberships_by_account ON memberships (account_id, created_at, tenant_id);
CREATE INDEX sessions_by_previous_token_hash ON sessions (previous_token_hash);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, created_at, id);
CREATE INDEX sessions_by_account ON sessions (user_id);
CREATE UNIQUE INDEX sessions_by_tenant_and_id ON sessions (tenant_id, id);
CREATE INDEX session_token_hashes_by_session ON session_token_hashes (tenant_id, session_id);

-- Refuses to commit (a CHECK violation) if any foreign key is broken.
CREATE TEMP TABLE migration_check (violations INTEGER NOT NULL CHECK (violations = 0)) STRICT;
INSERT INTO migration_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE migration_check;

COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- The old schema has one tenant per user: refuse (a CHECK violation) while
-- any account has other than exactly one membership, rather than lose one.
CREATE TEMP TABLE migration_check (violations INTEGER NOT NULL CHECK (violations = 0)) STRICT;
INSERT INTO migration_check SELECT count(*) FROM accounts a
WHERE (SELECT count(*) FROM memberships m WHERE m.account_id = a.id) <> 1;
DROP TABLE migration_check;

CREATE TABLE users (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	email TEXT NOT NULL,
	email_key TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('member', 'admin')),
	password_hash TEXT NOT NULL,
	mfa_enabled INTEGER NOT NULL CHECK (mfa_enabled IN (0, 1)),
	totp_secret BLOB,
	totp_last_step INTEGER NOT NULL,
	recovery_code_hashes TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, id)
) STRICT;

INSERT INTO users (id, tenant_id, email, email_key, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at)
SELECT a.id, m.tenant_id, a.email, a.email_key, m.display_name, m.role, a.password_hash, a.mfa_enabled, a.totp_secret, a.totp_last_step, a.recovery_code_hashes, m.created_at, m.updated_at
FROM accounts a JOIN memberships m ON m.account_id = a.id;

CREATE TABLE sessions_old (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE,
	previous_token_hash BLOB,
	rotated_at INTEGER,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER,
	revoked_reason TEXT NOT NULL,
	auth_time INTEGER,
	client_address TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

INSERT INTO sessions_old (id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent)
SELECT id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent FROM sessions;

CREATE TABLE session_token_hashes_old (
	token_hash BLOB NOT NULL PRIMARY KEY,
	session_id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	replaced_at INTEGER,
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO session_token_hashes_old (token_hash, session_id, tenant_id, replaced_at)
SELECT token_hash, session_id, tenant_id, replaced_at FROM session_token_hashes;

DROP TABLE session_token_hashes;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE accounts;
ALTER TABLE sessions_old RENAME TO sessions;
ALTER TABLE session_token_hashes_old RENAME TO session_token_hashes;

CREATE INDEX users_by_tenant ON users (tenant_id, created_at, id);
CREATE INDEX sessions_by_previous_token_hash ON sessions (previous_token_hash);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, created_at, id);
CREATE UNIQUE INDEX sessions_by_tenant_and_id ON sessions (tenant_id, id);
CREATE INDEX session_token_hashes_by_session ON session_token_hashes (tenant_id, session_id);

CREATE TEMP TABLE migration_check (violations INTEGER NOT NULL CHECK (violations = 0)) STRICT;
INSERT INTO migration_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE migration_check;

COMMIT;
PRAGMA foreign_keys = ON;
