-- A trust's access points per school: a NAS client may belong to one of the
-- trust's schools, and a network policy (group to VLAN and Filter-Id) may
-- be given for one school's NAS clients. '' is the trust's, as before.

-- +goose Up
ALTER TABLE nas_clients ADD COLUMN school TEXT NOT NULL DEFAULT '';
ALTER TABLE network_policies ADD COLUMN school TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE network_policies DROP COLUMN school;
ALTER TABLE nas_clients DROP COLUMN school;
