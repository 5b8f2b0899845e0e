-- The technician's dashboard sums up the failed sign-ins of the last day
-- from the lockout's signin.failures events: found by action and time, not
-- by reading every event of the day (a sync writes thousands).

-- +goose Up
CREATE INDEX audit_events_action_at ON audit_events (action, at);

-- +goose Down
DROP INDEX audit_events_action_at;
