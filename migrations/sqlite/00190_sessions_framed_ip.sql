-- Who was behind an address at a time (the web filter's feed and
-- investigations) looks sessions up by their framed address.

-- +goose Up
CREATE INDEX sessions_framed_ip ON sessions (framed_ip, started_at);

-- +goose Down
DROP INDEX sessions_framed_ip;
