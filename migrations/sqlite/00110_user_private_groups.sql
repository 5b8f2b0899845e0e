-- User private groups. Each person's gidNumber is their uidNumber and
-- names a group of their own (published over LDAP as cn=USERNAME); other
-- groups move out of the people's range to gidNumber 10,000,000 and up
-- (old + 9,900,000), so that a person's primary gid never names another
-- group. No uidNumber changes. gid_changes keeps the mapping for
-- `keystage migrate gids` (and `migrate up` prints it), so that files
-- already owned by a moved gid can be put right with chgrp.

-- +goose Up
CREATE TABLE gid_changes (
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    old_gid BIGINT NOT NULL,
    new_gid BIGINT NOT NULL
);
INSERT INTO gid_changes (kind, name, old_gid, new_gid)
    SELECT 'group', name, gid_number, gid_number + 9900000 FROM groups
    WHERE gid_number >= 100000 AND gid_number < 10000000;
-- A person whose primary gid is not their uid (set by hand) gets their own.
INSERT INTO gid_changes (kind, name, old_gid, new_gid)
    SELECT 'account', username, gid_number, uid_number FROM accounts
    WHERE gid_number <> uid_number AND gid_number < 10000000;
UPDATE accounts SET gid_number = uid_number WHERE gid_number <> uid_number AND gid_number < 10000000;
UPDATE groups SET gid_number = gid_number + 9900000 WHERE gid_number >= 100000 AND gid_number < 10000000;
UPDATE counters SET value = value + 9900000 WHERE name = 'gid' AND value < 10000000;

-- +goose Down
UPDATE counters SET value = value - 9900000 WHERE name = 'gid' AND value >= 10000000;
UPDATE groups SET gid_number = gid_number - 9900000
    WHERE gid_number IN (SELECT new_gid FROM gid_changes WHERE kind = 'group');
UPDATE accounts SET gid_number = (SELECT old_gid FROM gid_changes c WHERE c.kind = 'account' AND c.name = accounts.username)
    WHERE username IN (SELECT name FROM gid_changes WHERE kind = 'account');
DROP TABLE gid_changes;
