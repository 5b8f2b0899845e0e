-- The directory: people, accounts, groups, credentials, AUPs, consents,
-- suspensions, NAS clients, sync runs, the audit trail and operational logs.
-- Times are microseconds since the Unix epoch (UTC); dates are YYYY-MM-DD.

-- +goose Up
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('uid', 100000), ('gid', 100000);

CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY,
    uuid                 TEXT NOT NULL UNIQUE,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    source               TEXT NOT NULL,
    mis_id               TEXT,
    given_name           TEXT NOT NULL DEFAULT '',
    family_name          TEXT NOT NULL DEFAULT '',
    display_name         TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    year_group           TEXT NOT NULL DEFAULT '',
    reg_group            TEXT NOT NULL DEFAULT '',
    start_date           TEXT,
    leave_date           TEXT,
    status               TEXT NOT NULL,
    disabled_at          BIGINT,
    disable_reason       TEXT NOT NULL DEFAULT '',
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    uid_number           BIGINT NOT NULL UNIQUE,
    gid_number           BIGINT NOT NULL,
    home_directory       TEXT NOT NULL DEFAULT '',
    login_shell          TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_mis_id ON accounts (mis_id) WHERE mis_id IS NOT NULL;
CREATE INDEX accounts_role_status ON accounts (role, status);
CREATE INDEX accounts_email ON accounts (email);

CREATE TABLE purged_usernames (
    username  TEXT NOT NULL,
    uuid      TEXT NOT NULL,
    purged_at BIGINT NOT NULL
);
CREATE INDEX purged_usernames_username ON purged_usernames (username);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    mis_id      TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    gid_number  BIGINT NOT NULL UNIQUE
);

CREATE TABLE memberships (
    group_id   BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE credentials (
    id         INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    secret     TEXT NOT NULL,
    key_id     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used  BIGINT
);
CREATE INDEX credentials_account_kind ON credentials (account_id, kind);

CREATE TABLE aup_documents (
    id           INTEGER PRIMARY KEY,
    audience     TEXT NOT NULL,
    version      TEXT NOT NULL,
    body         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    resign_from  BIGINT,
    UNIQUE (audience, version)
);

CREATE TABLE signatures (
    id          INTEGER PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    document_id BIGINT NOT NULL REFERENCES aup_documents (id),
    digest      TEXT NOT NULL,
    signed_at   BIGINT NOT NULL,
    method      TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    form_date   TEXT,
    witness     TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX signatures_account ON signatures (account_id);

CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    document_id  BIGINT,
    parent_name  TEXT NOT NULL,
    relationship TEXT NOT NULL DEFAULT '',
    given_at     BIGINT NOT NULL,
    method       TEXT NOT NULL,
    recorded_by  TEXT NOT NULL DEFAULT '',
    withdrawn_at BIGINT
);
CREATE INDEX consents_account ON consents (account_id);

CREATE TABLE suspensions (
    id           INTEGER PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_at      BIGINT NOT NULL,
    until_at     BIGINT,
    reason       TEXT NOT NULL,
    incident_ref TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    lifted_at    BIGINT,
    lifted_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX suspensions_account ON suspensions (account_id);

CREATE TABLE nas_clients (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    addresses TEXT NOT NULL,
    secret    TEXT NOT NULL,
    key_id    TEXT NOT NULL DEFAULT '',
    vendor    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    applied     BOOLEAN NOT NULL DEFAULT FALSE,
    counts      TEXT NOT NULL DEFAULT '{}',
    rows_read   BIGINT NOT NULL DEFAULT 0,
    watermark   TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_kind ON sync_runs (kind, id);

CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_events_target ON audit_events (target, seq);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE usage (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service    TEXT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, service)
);

CREATE TABLE auth_failures (
    key      TEXT PRIMARY KEY,
    count    BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL
);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    account_id      BIGINT,
    username        TEXT NOT NULL,
    nas_name        TEXT NOT NULL DEFAULT '',
    nas_address     TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    calling_station TEXT NOT NULL DEFAULT '',
    called_station  TEXT NOT NULL DEFAULT '',
    framed_ip       TEXT NOT NULL DEFAULT '',
    started_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    stopped_at      BIGINT,
    input_bytes     BIGINT NOT NULL DEFAULT 0,
    output_bytes    BIGINT NOT NULL DEFAULT 0,
    terminate_cause TEXT NOT NULL DEFAULT '',
    UNIQUE (nas_address, session_id)
);
CREATE INDEX sessions_account ON sessions (account_id, started_at);
CREATE INDEX sessions_stopped ON sessions (stopped_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE auth_failures;
DROP TABLE usage;
DROP TABLE audit_events;
DROP TABLE sync_runs;
DROP TABLE nas_clients;
DROP TABLE suspensions;
DROP TABLE consents;
DROP TABLE signatures;
DROP TABLE aup_documents;
DROP TABLE credentials;
DROP TABLE memberships;
DROP TABLE groups;
DROP TABLE purged_usernames;
DROP TABLE accounts;
DROP TABLE counters;
