-- The first schema. Times are INTEGER microseconds since the Unix epoch in
-- UTC: exact, compact and ordered, so keyset pagination compares integers.
-- Tables are STRICT so that a value of the wrong type is refused rather than
-- silently stored. Lists are JSON text.

-- +goose Up
CREATE TABLE tenants (
	id TEXT NOT NULL PRIMARY KEY,
	name TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	email TEXT NOT NULL,
	-- rampart.EmailKey(email): unique across tenants, so that sign-in by
	-- email finds one user without knowing the tenant.
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
	-- The target of the sessions foreign key, which makes a session's
	-- tenant always its user's tenant.
	UNIQUE (tenant_id, id)
) STRICT;

CREATE INDEX users_by_tenant ON users (tenant_id, created_at, id);

CREATE TABLE sessions (
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
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX sessions_by_previous_token_hash ON sessions (previous_token_hash);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, created_at, id);

CREATE TABLE signing_keys (
	id TEXT NOT NULL PRIMARY KEY,
	algorithm TEXT NOT NULL,
	public_key BLOB NOT NULL,
	private_key BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	activated_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;

CREATE TABLE api_keys (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash BLOB NOT NULL UNIQUE,
	scopes TEXT NOT NULL,
	expires_at INTEGER,
	last_used_at INTEGER,
	-- No foreign key: a key belongs to the tenant and outlives its creator.
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);

CREATE TABLE orders (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	-- No foreign key: orders stay in the tenant's books after their owner
	-- is deleted.
	owner_id TEXT NOT NULL,
	items TEXT NOT NULL,
	note TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'cancelled', 'fulfilled')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX orders_by_tenant ON orders (tenant_id, created_at, id);
CREATE INDEX orders_by_owner ON orders (tenant_id, owner_id, created_at, id);

CREATE TABLE audit_events (
	id TEXT NOT NULL PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	seq INTEGER NOT NULL,
	occurred_at INTEGER NOT NULL,
	type TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	source_ip TEXT NOT NULL,
	request_id TEXT NOT NULL,
	target TEXT NOT NULL,
	-- CASE because json_type raises an error, not a constraint violation,
	-- on malformed JSON.
	details TEXT NOT NULL CHECK (CASE WHEN json_valid(details) THEN json_type(details) = 'object' ELSE 0 END),
	prev_hash BLOB,
	hash BLOB NOT NULL,
	-- A backstop for the gap-free numbering AppendAuditEvent maintains.
	UNIQUE (tenant_id, seq)
) STRICT;

CREATE INDEX audit_events_by_time ON audit_events (tenant_id, occurred_at, id);
CREATE INDEX audit_events_by_type ON audit_events (tenant_id, type, occurred_at, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE orders;
DROP TABLE api_keys;
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE tenants;
