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
	// MonitoringNotice tells the signer that network and internet use is
	// monitored, and how; when set, signing in the portal includes
	// acknowledging it. It is not part of Digest.
	MonitoringNotice string
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
	// NoticeAcknowledged records that the signer acknowledged the
	// document's monitoring notice as part of signing.
	NoticeAcknowledged bool
}

// ConsentDecision is what the person with parental responsibility said.
type ConsentDecision string

// The decisions. Each is recorded as it is given, with who gave it; the
// gate honours the latest, and refused or withdrawn is no consent.
const (
	ConsentAgreed    ConsentDecision = "agreed"
	ConsentRefused   ConsentDecision = "refused"
	ConsentWithdrawn ConsentDecision = "withdrawn"
)

// RelationshipLocalAuthority is the relationship of a local authority
// that gives or refuses consent for a looked-after child.
const RelationshipLocalAuthority = "local authority"

// Consent is a parent's, carer's or (for a looked-after child) the local
// authority's decision on permission for a pupil: agreed, refused or
// withdrawn.
type Consent struct {
	ID           int64
	AccountID    int64  // the pupil
	DocumentID   int64  // the parent-permission document version, when one is published
	ParentName   string // who gave it: a parent's or carer's name, or the local authority and its officer
	Relationship string // mother, father, carer, local authority, ...
	// Decision is agreed (the empty value reads so), refused or withdrawn.
	Decision    ConsentDecision
	GivenAt     time.Time
	Method      SignMethod
	RecordedBy  string
	WithdrawnAt time.Time
}

// agreed reports whether the decision is an agreement (the empty decision
// of a row from before decisions were recorded is one).
func (d ConsentDecision) agreed() bool { return d == "" || d == ConsentAgreed }
