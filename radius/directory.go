package radius

import (
	"context"
	"log/slog"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Reader is the part of the directory's state that RADIUS reads: accounts,
// their groups and coming suspensions, the NAS clients, and the audit
// trail it follows for changes.
type Reader interface {
	Account(ctx context.Context, id int64) (directory.Account, error)
	AccountByUsername(ctx context.Context, username string) (directory.Account, error)
	GroupsOf(ctx context.Context, accountID int64) ([]directory.Group, error)
	UpcomingSuspensions(ctx context.Context, after time.Time) ([]directory.Suspension, error)
	NASClients(ctx context.Context) ([]directory.NASClient, error)
	AuditEvents(ctx context.Context, afterSeq int64, limit int) ([]audit.Event, error)
	AuditHead(ctx context.Context) (int64, string, error)
	// The approved network policies, and what the rules for personal
	// devices and the exceptions read.
	NetworkPolicies(ctx context.Context) ([]directory.NetworkPolicy, error)
	Approvals(ctx context.Context, accountID int64) ([]directory.Approval, error)
	Devices(ctx context.Context, accountID int64) ([]directory.Device, error)
	SchoolDevice(ctx context.Context, mac string) (directory.SchoolDevice, error)
}

// Store is what RADIUS reads and the operational records it keeps apart
// from the directory's state: last use of the Wi-Fi and accounting
// sessions (a directory.Store is one).
type Store interface {
	Reader
	directory.SessionRecords
	NoteUses(ctx context.Context, service directory.Service, uses map[int64]time.Time) error
	NoteNASHeard(ctx context.Context, heard map[string]time.Time) error
	NoteDevice(ctx context.Context, accountID int64, mac string, t time.Time, flagged bool) error
}

// Directory is what RADIUS asks of the directory service (a
// *directory.Directory is one): the gate and the lockout, the keyring for
// NAS secrets, the outcome of each request, the record of a disconnect,
// and word of changes. RADIUS changes no directory state.
type Directory interface {
	Gate() *directory.Gate
	Lockout() *directory.Lockout
	Sealer() directory.Sealer
	Now() time.Time
	Log() *slog.Logger
	ObserveSince(start time.Time, svc directory.Service, op, result string, reason directory.Reason)
	RecordEvent(ctx context.Context, actor string, action audit.Action, target string, before, after any) error
	WatchChanges(ctx context.Context, fn func(directory.Changes)) (ok bool, err error)
	// Controls are the rules for personal devices.
	Controls() directory.Controls
}
