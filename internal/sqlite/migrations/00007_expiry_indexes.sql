-- Housekeeping (rampart.Identity.Housekeeping) deletes, every hour, the
-- sessions and link tokens that expired, and the outbox rows of mail that
-- was sent or given up on, more than a retention ago, in
-- batches of the oldest first. These indexes let each batch read only the
-- rows it deletes instead of scanning the whole table, which an attacker
-- can grow with decoy password resets (each also queues a mail) until the
-- purge catches up. The mail index holds settled rows only: the sender's
-- own index (mail_outbox_due) holds the pending ones.

-- +goose Up
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX link_tokens_by_expiry ON link_tokens (expires_at);
CREATE INDEX mail_outbox_by_settled ON mail_outbox ((coalesce(sent_at, failed_at))) WHERE coalesce(sent_at, failed_at) IS NOT NULL;

-- +goose Down
DROP INDEX mail_outbox_by_settled;
DROP INDEX link_tokens_by_expiry;
DROP INDEX sessions_by_expiry;
