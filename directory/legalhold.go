package directory

import (
	"context"
	"time"
)

// LegalHoldKind says why records must be kept.
type LegalHoldKind string

// The kinds of legal hold.
const (
	HoldSafeguarding  LegalHoldKind = "safeguarding"   // a safeguarding case is open
	HoldSubjectAccess LegalHoldKind = "subject-access" // a subject access request is being answered
	HoldOther         LegalHoldKind = "other"          // litigation, an investigation, …
)

// LegalHold stops any purge of a person's records while it is open.
type LegalHold struct {
	ID        int64
	AccountID int64
	Kind      LegalHoldKind
	Reason    string
	Reference string // the case or request reference
	SetBy     string
	SetAt     time.Time
	LiftedBy  string
	LiftedAt  time.Time // zero: open
	LiftNote  string
}

// Open reports whether h still holds.
func (h LegalHold) Open() bool { return h.LiftedAt.IsZero() }

// LegalHoldReader reads legal holds.
type LegalHoldReader interface {
	// LegalHolds lists the holds on one account, oldest first.
	LegalHolds(ctx context.Context, accountID int64) ([]LegalHold, error)
	// OpenLegalHolds lists the holds not lifted, of every account: what
	// a purge must leave alone.
	OpenLegalHolds(ctx context.Context) ([]LegalHold, error)
}

// LegalHoldWriter changes legal holds inside a transaction.
type LegalHoldWriter interface {
	AddLegalHold(ctx context.Context, h *LegalHold) error
	UpdateLegalHold(ctx context.Context, id int64, fn func(*LegalHold) error) (LegalHold, error)
}
