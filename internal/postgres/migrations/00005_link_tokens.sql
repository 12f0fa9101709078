-- Link tokens: the single-use secrets that mailed links carry (invitation,
-- signup confirmation, password reset, email verification), one table for
-- every purpose. Only the SHA-256 of a token is stored. The columns a
-- purpose does not use stay '' (tenant_id NULL). A token is pending while
-- used_at and revoked_at are NULL and expires_at is later than now.
--
-- No foreign key to accounts: account_id names the account the link is
-- for ('' when there is none yet), and a link dies with its account's
-- password through password_stamp, or through revocation.

-- +goose Up
CREATE TABLE link_tokens (
	id text NOT NULL PRIMARY KEY,
	hash bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
	purpose text NOT NULL CHECK (purpose IN ('invitation', 'signup', 'password_reset', 'verify_email')),
	email text NOT NULL,
	-- rampart.EmailKey(email), what revocation by address compares.
	email_key text NOT NULL,
	account_id text NOT NULL DEFAULT '',
	-- An invitation's tenant and role; NULL and '' for the other purposes.
	tenant_id text REFERENCES tenants (id),
	role text NOT NULL DEFAULT '',
	display_name text NOT NULL DEFAULT '',
	organization text NOT NULL DEFAULT '',
	-- A signup's argon2id hash of the chosen password, until confirmed.
	password_hash text NOT NULL DEFAULT '',
	-- rampart.PasswordStamp of the account's password hash at issue time.
	password_stamp bytea NOT NULL CHECK (octet_length(password_stamp) = 32),
	created_by text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at timestamptz,
	revoked_at timestamptz,
	CHECK (purpose <> 'invitation' OR (tenant_id IS NOT NULL AND role IN ('member', 'admin')))
);

-- Lookup by hash is the UNIQUE index above. A tenant's pending invitations,
-- newest first:
CREATE INDEX link_tokens_pending_invitations ON link_tokens (tenant_id, created_at, id)
WHERE purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL;
-- Revocation of an account's or an address's unused links:
CREATE INDEX link_tokens_unused_by_account ON link_tokens (account_id)
WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX link_tokens_unused_by_email ON link_tokens (email_key)
WHERE used_at IS NULL AND revoked_at IS NULL;

-- +goose Down
DROP TABLE link_tokens;
