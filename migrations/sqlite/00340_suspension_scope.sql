-- Graded sanctions: a suspension has a scope (all network access, the
-- internet and Wi-Fi only, or one named service) and may end only when a
-- named staff role lifts it, recording the conversation that preceded it.

-- +goose Up
ALTER TABLE suspensions ADD COLUMN scope TEXT NOT NULL DEFAULT 'all';
ALTER TABLE suspensions ADD COLUMN lift_role TEXT NOT NULL DEFAULT '';
ALTER TABLE suspensions ADD COLUMN talk_with TEXT NOT NULL DEFAULT '';
ALTER TABLE suspensions ADD COLUMN talk_at BIGINT;
ALTER TABLE suspensions ADD COLUMN talk_note TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE suspensions DROP COLUMN talk_note;
ALTER TABLE suspensions DROP COLUMN talk_at;
ALTER TABLE suspensions DROP COLUMN talk_with;
ALTER TABLE suspensions DROP COLUMN lift_role;
ALTER TABLE suspensions DROP COLUMN scope;
