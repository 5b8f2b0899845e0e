-- Legal holds: while a safeguarding case or a subject access request is
-- open, nothing purges the person's records. Set and lifted by the
-- safeguarding or data-protection roles, each change audited.

-- +goose Up
CREATE TABLE legal_holds (
    id         INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    reference  TEXT NOT NULL DEFAULT '',
    set_by     TEXT NOT NULL,
    set_at     BIGINT NOT NULL,
    lifted_by  TEXT NOT NULL DEFAULT '',
    lifted_at  BIGINT,
    lift_note  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX legal_holds_account ON legal_holds (account_id);

-- +goose Down
DROP TABLE legal_holds;
