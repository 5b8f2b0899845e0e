-- What the MIS sync keeps between runs. sync_refusals is the queue of rows
-- the last exports could not take, shown by the plan and the portal until a
-- later export fixes them. sync_missing counts, per MIS id, the consecutive
-- bulk exports a person has been absent from: a person becomes a leaver only
-- after the configured number of runs, never on one short export.
-- Times are microseconds since the Unix epoch (UTC).

-- +goose Up
CREATE TABLE sync_refusals (
    mis_id     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    file       TEXT NOT NULL DEFAULT '',
    line       BIGINT NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX sync_refusals_mis_id ON sync_refusals (mis_id);

CREATE TABLE sync_missing (
    mis_id TEXT PRIMARY KEY,
    runs   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE sync_missing;
DROP TABLE sync_refusals;
