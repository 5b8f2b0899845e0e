package main

import (
	"time"

	"keystage.dev/keystage/directory"
)

// RetentionSection is the retention schedule of the records that
// [sync] retention_days (accounts) and [radius] retention_days (accounting
// sessions) do not cover.
type RetentionSection struct {
	// Devices: a device record not seen this long is deleted (0d: kept).
	Devices days `toml:"devices"`
	// AuditEvents: audit events older than this are deleted by a signed
	// prune (0d: the trail is kept whole).
	AuditEvents days `toml:"audit_events"`
	// Every: keystage serve applies the schedule this often (0d: only
	// keystage retention --apply does).
	Every days `toml:"every"`
}

func defaultRetention() RetentionSection {
	return RetentionSection{Devices: days{365 * 24 * time.Hour}}
}

func (s *RetentionSection) validate(p *problems) {
	if s.Devices.Duration < 0 || s.AuditEvents.Duration < 0 || s.Every.Duration < 0 {
		p.add("retention: durations are 0d (keep) or more")
	}
	if s.AuditEvents.Duration > 0 && s.AuditEvents.Duration < 365*24*time.Hour {
		p.add("retention.audit_events %s: at least 365d (the trail is evidence), or 0d to keep it whole", s.AuditEvents)
	}
	if s.Every.Duration > 0 && s.Every.Duration < time.Hour {
		p.add("retention.every %s: at least 1h, or 0d", s.Every)
	}
}

func (s *RetentionSection) schedule() directory.RetentionSchedule {
	return directory.RetentionSchedule{Devices: s.Devices.Duration, AuditEvents: s.AuditEvents.Duration}
}

const exampleRetention = `
[retention]
# How long records are kept, beside [sync] retention_days (accounts, after
# they are disabled) and [radius] retention_days (accounting sessions). Applied
# by keystage retention --apply, and by keystage serve every "every"
# (docs/policy-controls.md#retention).
devices = "365d"        # a device a person joined from, not seen this long, is forgotten
audit_events = "0d"     # delete older audit events by a signed prune; 0d keeps the trail whole
every = "0d"            # 0d: only the command applies the schedule
`
