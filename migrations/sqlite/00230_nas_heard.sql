-- When each RADIUS client (NAS) was last heard from: the technician's
-- dashboard shows an access point that has gone quiet. Written by the
-- RADIUS frontend at most once a minute per node, not per packet.

-- +goose Up
CREATE TABLE nas_heard (
    nas_name TEXT PRIMARY KEY,
    last_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE nas_heard;
