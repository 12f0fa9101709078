-- Every refresh-token hash a session has had, the current one included, so
-- that FindSessionByTokenHash recognises the reuse of a token from any
-- earlier generation of the family (RFC 9700 §4.14.2), and so that a hash,
-- being the primary key, can belong to one family and one generation only.
-- replaced_at is NULL for the current hash, and the time of the rotation
-- that replaced it for the earlier ones. Rows go with their session.

-- +goose Up
-- The target of the session_token_hashes foreign key, which makes a hash's
-- tenant always its session's tenant.
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_id_key UNIQUE (tenant_id, id);

CREATE TABLE session_token_hashes (
	token_hash bytea PRIMARY KEY,
	session_id text NOT NULL,
	tenant_id text NOT NULL,
	replaced_at timestamptz,
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);

-- Also what the cascade from sessions looks rows up by.
CREATE INDEX session_token_hashes_by_session ON session_token_hashes (tenant_id, session_id);

-- The hashes sessions already have: the current and the previous one. The
-- old schema kept no earlier generation.
INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at)
SELECT token_hash, id, tenant_id, NULL FROM sessions;
INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at)
SELECT previous_token_hash, id, tenant_id, coalesce(rotated_at, last_used_at) FROM sessions
WHERE previous_token_hash IS NOT NULL
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE session_token_hashes;
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_id_key;
