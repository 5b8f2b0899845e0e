package directory

import "time"

// AUPDocument is one version of an Acceptable Use Policy for an audience.
type AUPDocument struct {
	ID          int64
	Audience    string // staff, pupil-ks2, pupil-ks1, community, parent-permission, ...
	Version     string
	Text        string // Markdown
	Digest      string // hex SHA-256 of Text
	PublishedAt time.Time
	// ResignFrom, when set, makes every signature of an earlier version
	// stop counting from that instant: everyone must sign again.
	ResignFrom time.Time
	// School is the school whose people it is for; empty for the whole
	// trust (see DocumentsFor).
	School string
}

// SignMethod says how a signature was given.
type SignMethod string

// The ways to sign.
const (
	SignPortal SignMethod = "portal" // click-through in the portal
	SignPaper  SignMethod = "paper"  // a paper form entered by staff
)

// Signature records that an account signed one version of an AUP.
type Signature struct {
	ID         int64
	AccountID  int64
	DocumentID int64
	Digest     string // of the document text signed
	SignedAt   time.Time
	Method     SignMethod
	Address    string // portal: client address
	UserAgent  string // portal
	FormDate   time.Time
	Witness    string // paper: who witnessed
	RecordedBy string // who entered it
}

// Consent is a parent's or carer's permission for a pupil.
type Consent struct {
	ID           int64
	AccountID    int64  // the pupil
	DocumentID   int64  // the parent-permission document version, when one is published
	ParentName   string // who gave it
	Relationship string // mother, father, carer, ...
	GivenAt      time.Time
	Method       SignMethod
	RecordedBy   string
	WithdrawnAt  time.Time
}
