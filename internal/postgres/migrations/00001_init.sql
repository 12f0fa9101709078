-- The first schema. Ids are text rather than uuid so that a malformed id in
-- a request is simply not found instead of a type error.

-- +goose Up
CREATE TABLE tenants (
	id text PRIMARY KEY,
	name text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE users (
	id text PRIMARY KEY,
	tenant_id text NOT NULL REFERENCES tenants (id),
	email text NOT NULL,
	-- rampart.EmailKey(email): unique across tenants, so that sign-in by
	-- email finds one user without knowing the tenant.
	email_key text NOT NULL UNIQUE,
	display_name text NOT NULL,
	role text NOT NULL CHECK (role IN ('member', 'admin')),
	password_hash text NOT NULL,
	mfa_enabled boolean NOT NULL,
	totp_secret bytea,
	totp_last_step bigint NOT NULL,
	recovery_code_hashes text[],
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	-- The target of the sessions foreign key, which makes a session's
	-- tenant always its user's tenant.
	UNIQUE (tenant_id, id)
);

CREATE INDEX users_by_tenant ON users (tenant_id, created_at, id);

CREATE TABLE sessions (
	id text PRIMARY KEY,
	tenant_id text NOT NULL,
	user_id text NOT NULL,
	token_hash bytea NOT NULL UNIQUE,
	previous_token_hash bytea,
	rotated_at timestamptz,
	created_at timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	idle_expires_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz,
	revoked_reason text NOT NULL,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX sessions_by_previous_token_hash ON sessions (previous_token_hash);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, created_at, id);

CREATE TABLE signing_keys (
	id text PRIMARY KEY,
	algorithm text NOT NULL,
	public_key bytea NOT NULL,
	private_key bytea NOT NULL,
	created_at timestamptz NOT NULL,
	activated_at timestamptz NOT NULL,
	retired_at timestamptz
);

CREATE TABLE api_keys (
	id text PRIMARY KEY,
	tenant_id text NOT NULL REFERENCES tenants (id),
	name text NOT NULL,
	prefix text NOT NULL,
	hash bytea NOT NULL UNIQUE,
	scopes text[],
	expires_at timestamptz,
	last_used_at timestamptz,
	-- No foreign key: a key belongs to the tenant and outlives its creator.
	created_by text NOT NULL,
	created_at timestamptz NOT NULL,
	revoked_at timestamptz
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);

CREATE TABLE orders (
	id text PRIMARY KEY,
	tenant_id text NOT NULL REFERENCES tenants (id),
	-- No foreign key: orders stay in the tenant's books after their owner
	-- is deleted.
	owner_id text NOT NULL,
	items jsonb NOT NULL,
	note text NOT NULL,
	status text NOT NULL CHECK (status IN ('pending', 'cancelled', 'fulfilled')),
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE INDEX orders_by_tenant ON orders (tenant_id, created_at, id);
CREATE INDEX orders_by_owner ON orders (tenant_id, owner_id, created_at, id);

CREATE TABLE audit_events (
	id text PRIMARY KEY,
	tenant_id text NOT NULL REFERENCES tenants (id),
	seq bigint NOT NULL,
	occurred_at timestamptz NOT NULL,
	type text NOT NULL,
	actor_id text NOT NULL,
	source_ip text NOT NULL,
	request_id text NOT NULL,
	target text NOT NULL,
	-- json, not jsonb: the text is kept byte for byte, as the event's hash
	-- covers it.
	details json NOT NULL CHECK (json_typeof(details) = 'object'),
	prev_hash bytea,
	hash bytea NOT NULL,
	-- A backstop for the gap-free numbering AppendAuditEvent maintains.
	UNIQUE (tenant_id, seq)
);

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
