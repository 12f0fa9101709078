-- Accounts and memberships (api.md v1.1): an account is global (one email,
-- password, second factor), a membership gives it a role and a display name
-- in one tenant. A user id in the API is the account id, so
-- orders.owner_id, sessions.user_id, api_keys.created_by, audit actor ids
-- and token subjects keep their meaning. Every existing user becomes an
-- account with one membership, whose tenant is its last used tenant.
-- Sessions now reference the membership; token hashes follow a session that
-- moves to another tenant of its account (switch tenant).

-- +goose Up
CREATE TABLE accounts (
	id text PRIMARY KEY,
	email text NOT NULL,
	-- rampart.EmailKey(email): one account per address.
	email_key text NOT NULL UNIQUE,
	password_hash text NOT NULL,
	email_verified boolean NOT NULL,
	mfa_enabled boolean NOT NULL,
	totp_secret bytea,
	totp_last_step bigint NOT NULL,
	recovery_code_hashes text[],
	-- No foreign key: a hint for sign-in, checked against the memberships.
	last_tenant_id text,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

INSERT INTO accounts (id, email, email_key, password_hash, email_verified, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, last_tenant_id, created_at, updated_at)
SELECT id, email, email_key, password_hash, false, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, tenant_id, created_at, updated_at FROM users;

CREATE TABLE memberships (
	tenant_id text NOT NULL REFERENCES tenants (id),
	account_id text NOT NULL REFERENCES accounts (id),
	role text NOT NULL CHECK (role IN ('member', 'admin')),
	display_name text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	-- Also the target of the sessions foreign key, which makes a session's
	-- tenant always one of its account's tenants.
	PRIMARY KEY (tenant_id, account_id)
);

INSERT INTO memberships (tenant_id, account_id, role, display_name, created_at, updated_at)
SELECT tenant_id, id, role, display_name, created_at, updated_at FROM users;

CREATE INDEX memberships_by_tenant ON memberships (tenant_id, created_at, account_id);
CREATE INDEX memberships_by_account ON memberships (account_id, created_at, tenant_id);

ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_user_id_fkey;
ALTER TABLE sessions ADD CONSTRAINT sessions_membership_fkey
	FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, account_id) ON DELETE CASCADE;
CREATE INDEX sessions_by_account ON sessions (user_id);

ALTER TABLE session_token_hashes DROP CONSTRAINT session_token_hashes_tenant_id_session_id_fkey;
ALTER TABLE session_token_hashes ADD CONSTRAINT session_token_hashes_session_fkey
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE ON UPDATE CASCADE;

DROP TABLE users;

-- +goose Down
-- The old schema has one tenant per user: refuse while any account has
-- other than exactly one membership, rather than lose one.
-- +goose StatementBegin
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM accounts a WHERE (SELECT count(*) FROM memberships m WHERE m.account_id = a.id) <> 1) THEN
		RAISE EXCEPTION 'an account has other than one membership; the schema before accounts cannot hold it';
	END IF;
END
$$;
-- +goose StatementEnd

CREATE TABLE users (
	id text PRIMARY KEY,
	tenant_id text NOT NULL REFERENCES tenants (id),
	email text NOT NULL,
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
	UNIQUE (tenant_id, id)
);

CREATE INDEX users_by_tenant ON users (tenant_id, created_at, id);

INSERT INTO users (id, tenant_id, email, email_key, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at)
SELECT a.id, m.tenant_id, a.email, a.email_key, m.display_name, m.role, a.password_hash, a.mfa_enabled, a.totp_secret, a.totp_last_step, a.recovery_code_hashes, m.created_at, m.updated_at
FROM accounts a JOIN memberships m ON m.account_id = a.id;

ALTER TABLE session_token_hashes DROP CONSTRAINT session_token_hashes_session_fkey;
ALTER TABLE session_token_hashes ADD CONSTRAINT session_token_hashes_tenant_id_session_id_fkey
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE;

DROP INDEX sessions_by_account;
ALTER TABLE sessions DROP CONSTRAINT sessions_membership_fkey;
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_user_id_fkey
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;

DROP TABLE memberships;
DROP TABLE accounts;
