-- The mail outbox (rampart.OutboxMessage): a message is written in the
-- transaction that writes the token it carries, and a sender delivers it
-- later, at least once. Replicas claim messages with FOR UPDATE SKIP LOCKED
-- and a lease (claimed_until), so two never hold one message at once and a
-- replica that dies mid-delivery leaves it to the others when the lease ends.
--   sealed           recipient, subject and body sealed under the master key
--                    (additional data 'mail:'||id); NULL once sent or failed
--   attempts         delivery attempts begun (a claim counts one)
--   next_attempt_at  not claimed before this
--   claimed_until    the lease of the sender holding the message; NULL when none
--   sent_at, failed_at  the outcome; both NULL while pending
--   last_error       a fixed phrase from the sender, never server text

-- +goose Up
CREATE TABLE mail_outbox (
	id text PRIMARY KEY,
	kind text NOT NULL,
	sealed bytea,
	created_at timestamptz NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	claimed_until timestamptz,
	sent_at timestamptz,
	failed_at timestamptz,
	last_error text NOT NULL DEFAULT '',
	CHECK ((sent_at IS NULL AND failed_at IS NULL) = (sealed IS NOT NULL))
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP TABLE mail_outbox;
