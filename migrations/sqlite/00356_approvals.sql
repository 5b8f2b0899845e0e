-- Approvals for one person, each by a named approver and with an end date:
-- a pupil's personal device on the Wi-Fi, and the exceptions for vulnerable
-- pupils (another VLAN or filter, a simpler password policy).

-- +goose Up
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    device          TEXT NOT NULL DEFAULT '',
    vlan            TEXT NOT NULL DEFAULT '',
    filter_id       TEXT NOT NULL DEFAULT '',
    password_policy TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    approved_by     TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    until_at        BIGINT NOT NULL,
    revoked_at      BIGINT,
    revoked_by      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_account ON approvals (account_id);

-- +goose Down
DROP TABLE approvals;
