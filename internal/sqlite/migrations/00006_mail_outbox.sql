-- The mail outbox (rampart.OutboxMessage): a message is written in the
-- transaction that writes the token it carries, and a sender delivers it
-- later, at least once.
--   sealed           recipient, subject and body sealed under the master key
--                    (additional data "mail:"+id); NULL once sent or failed
--   attempts         delivery attempts begun (a claim counts one)
--   next_attempt_at  not claimed before this (microseconds)
--   claimed_until    the lease of the sender holding the message; NULL when none
--   sent_at, failed_at  the outcome; both NULL while pending
--   last_error       a fixed phrase from the sender, never server text

-- +goose Up
CREATE TABLE mail_outbox (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	sealed BLOB,
	created_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claimed_until INTEGER,
	sent_at INTEGER,
	failed_at INTEGER,
	last_error TEXT NOT NULL DEFAULT '',
	CHECK ((sent_at IS NULL AND failed_at IS NULL) = (sealed IS NOT NULL))
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP TABLE mail_outbox;
