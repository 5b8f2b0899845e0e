-- The register of school-owned devices (by MAC address, as RADIUS sees them
-- in Calling-Station-Id), which are not anyone's personal device; and the
-- devices each person has joined the Wi-Fi from, an operational record
-- that the limit on devices per person counts.

-- +goose Up
CREATE TABLE school_devices (
    mac      TEXT PRIMARY KEY,
    label    TEXT NOT NULL DEFAULT '',
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL
);

CREATE TABLE account_devices (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mac        TEXT NOT NULL,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    flagged    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (account_id, mac)
);

-- +goose Down
DROP TABLE account_devices;
DROP TABLE school_devices;
