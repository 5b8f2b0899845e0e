-- The mapping of groups to a VLAN and a filter (Filter-Id), kept in the
-- directory so that a change is proposed with a risk note and approved by a
-- senior role before RADIUS applies it. A row is a proposal; the approved
-- rows not superseded are the mapping in force.

-- +goose Up
CREATE TABLE network_policies (
    id              INTEGER PRIMARY KEY,
    grp             TEXT NOT NULL,
    precedence      BIGINT NOT NULL DEFAULT 0,
    vlan            TEXT NOT NULL DEFAULT '',
    filter_id       TEXT NOT NULL DEFAULT '',
    session_timeout BIGINT NOT NULL DEFAULT 0,
    class           TEXT NOT NULL DEFAULT '',
    removal         BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL,
    risk_note       TEXT NOT NULL,
    proposed_by     TEXT NOT NULL,
    proposed_at     BIGINT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      BIGINT,
    decision_note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX network_policies_status ON network_policies (status);

-- +goose Down
DROP TABLE network_policies;
