-- What a session needs for step-up authentication and for a person to tell
-- their sessions apart (GET /v1/me/sessions):
--   auth_time       when the session last proved the password (and second
--                   factor); NULL for sessions created before this
--                   migration, which must then reauthenticate before a
--                   sensitive change
--   client_address  the coarse network (IPv4 /24, IPv6 /48) it last obtained
--                   tokens from; '' when unknown
--   user_agent      the User-Agent it last obtained tokens with, at most 200
--                   characters; '' when unknown

-- +goose Up
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN client_address;
ALTER TABLE sessions DROP COLUMN auth_time;
