-- RADIUS: the port where each NAS takes Disconnect-Request and CoA-Request
-- (0: the standard 3799).

-- +goose Up
ALTER TABLE nas_clients ADD COLUMN coa_port BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_nas_live ON sessions (nas_address) WHERE stopped_at IS NULL;

-- +goose Down
DROP INDEX sessions_nas_live;
ALTER TABLE nas_clients DROP COLUMN coa_port;
