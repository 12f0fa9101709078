-- Housekeeping (rampart.Identity.Housekeeping) deletes, every hour, the
-- sessions and link tokens that expired more than a retention ago, in
-- batches of the oldest first. These indexes let each batch read only the
-- rows it deletes instead of scanning the whole table, which an attacker
-- can grow with decoy password resets until the purge catches up.

-- +goose Up
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX link_tokens_by_expiry ON link_tokens (expires_at);

-- +goose Down
DROP INDEX link_tokens_by_expiry;
DROP INDEX sessions_by_expiry;
