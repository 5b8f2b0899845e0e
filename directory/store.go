package directory

import (
	"context"
	"errors"
	"time"

	"keystage.dev/keystage/audit"
)

// Errors returned by every Store, wrapped with where they came from; test
// them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrUnaudited is returned by Update when a transaction changed
	// something but recorded no audit event: the change is rolled back.
	ErrUnaudited = errors.New("change without an audit event")
	// ErrSchemaAhead means the database was migrated by a newer Keystage.
	ErrSchemaAhead = errors.New("database schema is newer than this binary")
	// ErrLocked means another process holds the store.
	ErrLocked = errors.New("store in use by another process")
)

// AccountQuery selects accounts for listing. Zero fields do not filter.
// Results are ordered by ID (scan with AfterID and Limit), or by name with
// ByName (page with Offset and Limit).
type AccountQuery struct {
	Role   Role
	Status Status
	Source Source
	Search string // substring of username, names or MIS id, case-insensitive
	// YearGroup and RegGroup match a pupil's year ("7") and registration
	// group ("7A") exactly, ignoring case.
	YearGroup string
	RegGroup  string
	AfterID   int64
	Limit     int // 0: no limit
	// Offset skips that many accounts of the ordered result (a page of a
	// search a person pages through; scans page with AfterID instead).
	Offset int
	// ByName orders by family name, given name and then ID instead of by
	// ID alone. AfterID still filters by ID, so page a name-ordered list
	// with Offset.
	ByName bool
	// School selects the accounts in a school's scope (its own and those
	// dual-registered there); TrustScope selects the trust's own accounts.
	School string
}

// GroupQuery selects groups for listing, ordered by ID.
type GroupQuery struct {
	Kind    GroupKind
	Source  Source
	AfterID int64
	Limit   int
}

// Reader is what may be read from a Store, inside or outside a transaction.
type Reader interface {
	DownstreamReader
	Account(ctx context.Context, id int64) (Account, error)
	AccountByUsername(ctx context.Context, username string) (Account, error)
	AccountByMISID(ctx context.Context, misID string) (Account, error)
	AccountByUID(ctx context.Context, uidNumber int64) (Account, error)
	// AccountByUUID finds an account by its entryUUID (lower-case).
	AccountByUUID(ctx context.Context, uuid string) (Account, error)
	// AccountsByEmail lists the accounts with an email address, matched as
	// given or lower-cased (addresses are not unique), ordered by ID.
	AccountsByEmail(ctx context.Context, email string) ([]Account, error)
	ListAccounts(ctx context.Context, q AccountQuery) ([]Account, error)
	CountAccounts(ctx context.Context, q AccountQuery) (int, error)
	// UsernameTaken reports whether a username is held now or was held by
	// an account purged at or after since (usernames are not reused within
	// the retention period).
	UsernameTaken(ctx context.Context, username string, since time.Time) (bool, error)
	// PurgedUsernames lists the usernames of accounts purged at or after
	// since, sorted, for a caller that checks many names at once.
	PurgedUsernames(ctx context.Context, since time.Time) ([]string, error)

	Group(ctx context.Context, id int64) (Group, error)
	GroupByName(ctx context.Context, name string) (Group, error)
	GroupByGID(ctx context.Context, gidNumber int64) (Group, error)
	ListGroups(ctx context.Context, q GroupQuery) ([]Group, error)
	// GroupsOf lists the groups an account is a member of, by name.
	GroupsOf(ctx context.Context, accountID int64) ([]Group, error)
	// Members lists the usernames of a group's members, sorted.
	Members(ctx context.Context, groupID int64) ([]string, error)

	// Credentials lists an account's credentials of one kind, newest first,
	// revoked ones included.
	Credentials(ctx context.Context, accountID int64, kind CredentialKind) ([]Credential, error)

	AUPDocuments(ctx context.Context) ([]AUPDocument, error)
	AUPDocument(ctx context.Context, id int64) (AUPDocument, error)
	Signatures(ctx context.Context, accountID int64) ([]Signature, error)
	// SignaturesBetween lists the signatures of the accounts whose ids are
	// above afterID and at most lastID, ordered by account then time: a
	// page of accounts' signatures in one read (the dashboard's unsigned
	// counts).
	SignaturesBetween(ctx context.Context, afterID, lastID int64) ([]Signature, error)
	Consents(ctx context.Context, accountID int64) ([]Consent, error)
	Suspensions(ctx context.Context, accountID int64) ([]Suspension, error)
	// UpcomingSuspensions lists the suspensions of every account that start
	// after t and have not been lifted, soonest first: frontends that end
	// live sessions wait for their start.
	UpcomingSuspensions(ctx context.Context, after time.Time) ([]Suspension, error)
	LegalHoldReader

	NASClients(ctx context.Context) ([]NASClient, error)
	// SealedKeys lists, for each kind of sealed secret (Wi-Fi credentials,
	// revoked ones too, and NAS secrets) and each key id that sealed some,
	// how many there are and one of them, ordered by kind then key id: what
	// a keyring must open (see CheckSealer).
	SealedKeys(ctx context.Context) ([]SealedKey, error)
	// SyncRuns lists runs of a kind ("" for every kind), newest first.
	SyncRuns(ctx context.Context, kind string, limit int) ([]SyncRun, error)
	// SyncRefusals is the queue of refused MIS rows, by MIS id then line.
	SyncRefusals(ctx context.Context) ([]SyncRefusal, error)
	// MissingRuns gives, by MIS id, how many consecutive bulk exports each
	// absent person has been missing from.
	MissingRuns(ctx context.Context) (map[string]int, error)

	// AuditEvents lists events with Seq > afterSeq in order, at most limit.
	AuditEvents(ctx context.Context, afterSeq int64, limit int) ([]audit.Event, error)
	// AuditHead is the last event's Seq and Hash (0, "" when empty).
	AuditHead(ctx context.Context) (int64, string, error)
	// AuditEventsAbout lists the events about one target ("account:jsmith")
	// with Seq > afterSeq in order, at most limit.
	AuditEventsAbout(ctx context.Context, target string, afterSeq int64, limit int) ([]audit.Event, error)
	// AuditEventsByAction lists the events of one action at or after
	// since, in order, at most limit.
	AuditEventsByAction(ctx context.Context, action string, since time.Time, limit int) ([]audit.Event, error)

	// The network policies, approvals and devices (policyrecords.go).
	PolicyReader
}

// Tx is a transaction: everything read and written through it commits or
// rolls back together, with the audit events recorded in it.
type Tx interface {
	Reader
	DownstreamWriter

	// CreateAccount stores a new account, setting ID, UUID, timestamps and,
	// when zero, UIDNumber and GIDNumber from counters that never go back.
	CreateAccount(ctx context.Context, a *Account) error
	// UpdateAccount hands the stored account to fn and stores what fn
	// leaves; an error from fn aborts. ID, UUID and POSIX ids are kept.
	UpdateAccount(ctx context.Context, id int64, fn func(*Account) error) (Account, error)
	// DeleteAccount purges an account and everything that hangs on it;
	// its username is remembered as purged, and its ids are never reused.
	DeleteAccount(ctx context.Context, id int64) error

	CreateGroup(ctx context.Context, g *Group) error
	UpdateGroup(ctx context.Context, id int64, fn func(*Group) error) (Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	AddMember(ctx context.Context, groupID, accountID int64) error // idempotent
	RemoveMember(ctx context.Context, groupID, accountID int64) error

	AddCredential(ctx context.Context, c *Credential) error
	UpdateCredential(ctx context.Context, id int64, fn func(*Credential) error) (Credential, error)

	AddAUPDocument(ctx context.Context, d *AUPDocument) error
	AddSignature(ctx context.Context, s *Signature) error
	AddConsent(ctx context.Context, c *Consent) error
	UpdateConsent(ctx context.Context, id int64, fn func(*Consent) error) (Consent, error)
	AddSuspension(ctx context.Context, s *Suspension) error
	UpdateSuspension(ctx context.Context, id int64, fn func(*Suspension) error) (Suspension, error)
	LegalHoldWriter

	PutNASClient(ctx context.Context, n *NASClient) error // insert, or replace by name
	DeleteNASClient(ctx context.Context, id int64) error

	AddSyncRun(ctx context.Context, r *SyncRun) error
	// ReplaceSyncRefusals makes the queue of refused rows exactly rs.
	ReplaceSyncRefusals(ctx context.Context, rs []SyncRefusal) error
	// ReplaceMissingRuns makes the missing-run counts exactly runs (a count
	// of 0 or less is left out).
	ReplaceMissingRuns(ctx context.Context, runs map[string]int) error

	// Record appends an event to the audit trail, chaining it onto the
	// last one; Seq, PrevHash and Hash are set by the store.
	Record(ctx context.Context, e *audit.Event) error
	// PruneAudit deletes the audit events before firstSeq, and the
	// checkpoints of them, and returns how many events went. It is a
	// retention prune: the same transaction must record the audit.prune
	// event (audit.Prune) that says so, first, so that the trail is never
	// empty and verify accepts its new start (see PruneTrail).
	PruneAudit(ctx context.Context, firstSeq int64) (int64, error)

	// The network policies, approvals and devices (policyrecords.go).
	PolicyTx
}

// AccountCount is how many accounts have one role and status.
type AccountCount struct {
	Role   Role
	Status Status
	N      int
}

// FailureCounter is a lockout counter as stored.
type FailureCounter struct {
	Key    string
	Count  int
	LastAt time.Time
}

// AccountUse is an account and the last time it used any service (zero:
// never).
type AccountUse struct {
	AccountID int64
	Username  string
	LastUse   time.Time
}

// Session is a network session reported by RADIUS accounting.
type Session struct {
	ID             int64
	AccountID      int64 // 0 when the user is unknown
	Username       string
	NASName        string
	NASAddress     string
	SessionID      string // Acct-Session-Id
	CallingStation string // the device's MAC address
	CalledStation  string // the access point and SSID
	FramedIP       string
	StartedAt      time.Time
	UpdatedAt      time.Time
	StoppedAt      time.Time // zero while live
	InputBytes     int64
	OutputBytes    int64
	TerminateCause string
}

// Store keeps the directory. Reads may be made directly; every change goes
// through Update so that it commits with its audit events.
type Store interface {
	Reader

	// Update runs fn in one transaction and commits it when fn returns nil.
	// A transaction that writes without recording an audit event fails
	// with ErrUnaudited and is rolled back. Writers are serialised, so the
	// audit chain stays linear on every backend.
	Update(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// Operational records, written without audit events (see Records).
	Records

	// PutPortalSession inserts or replaces a portal session by ID.
	PutPortalSession(ctx context.Context, s *PortalSession) error
	// PortalSession finds a session by ID; ErrNotFound when there is none
	// or it has expired at now.
	PortalSession(ctx context.Context, id string, now time.Time) (PortalSession, error)
	// DeletePortalSession ends one session (no error when already gone).
	DeletePortalSession(ctx context.Context, id string) error
	// DeletePortalSessionsOf ends every session of an account except the
	// one named by keep (may be empty), returning how many ended.
	DeletePortalSessionsOf(ctx context.Context, accountID int64, keep string) (int, error)
	// PurgePortalSessions deletes sessions expired before t.
	PurgePortalSessions(ctx context.Context, before time.Time) (int, error)

	// Signed checkpoints of the audit chain. They vouch for the trail
	// rather than change the directory, so they are written without an
	// audit event.

	// AddCheckpoint stores a checkpoint; ErrConflict when that event is
	// checkpointed already (another node got there first).
	AddCheckpoint(ctx context.Context, c audit.Checkpoint) error
	// Checkpoints lists checkpoints with Seq > afterSeq in order, at most
	// limit.
	Checkpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error)
	// LastCheckpoint is the checkpoint of the highest Seq; ErrNotFound
	// when there is none.
	LastCheckpoint(ctx context.Context) (audit.Checkpoint, error)

	// Ping checks the database can be reached.
	Ping(ctx context.Context) error
	Close() error
}

// Records are the operational records that are logs in their own right,
// not directory state, and are written without audit events: last use,
// failure counters and familiar sources (the lockout's), and accounting
// sessions. A frontend takes only the part it keeps.
type Records interface {
	UseRecords
	FailureRecords
	SessionRecords
	DeviceRecords
}

// UseRecords are when each account last used each service.
type UseRecords interface {
	// NoteUse records that an account used a service at t.
	NoteUse(ctx context.Context, accountID int64, service Service, t time.Time) error
	// NoteUses records many uses of one service at once, in one
	// transaction (a frontend that gathers them in memory flushes them
	// so); an account that no longer exists is skipped.
	NoteUses(ctx context.Context, service Service, uses map[int64]time.Time) error
	// LastUse gives the last use of each service by an account.
	LastUse(ctx context.Context, accountID int64) (map[Service]time.Time, error)
	// AccountCounts counts the accounts by role and status, ordered by
	// role then status.
	AccountCounts(ctx context.Context) ([]AccountCount, error)
	// MissingConsents counts the active pupils with no parental consent
	// in force.
	MissingConsents(ctx context.Context) (int, error)
	// SchoolAccountCounts is AccountCounts of the accounts in a school's
	// scope (its own and those dual-registered there; TrustScope: the
	// trust's own).
	SchoolAccountCounts(ctx context.Context, school string) ([]AccountCount, error)
	// SchoolMissingConsents is MissingConsents of the pupils in a school's
	// scope.
	SchoolMissingConsents(ctx context.Context, school string) (int, error)
	// Dormant lists the active accounts created before t that have used no
	// service at or after t (or never), with their last use of any
	// service, ordered by ID; at most limit (0: no limit).
	Dormant(ctx context.Context, before time.Time, limit int) ([]AccountUse, error)
}

// FailureRecords are the lockout's failure counters and the sources
// each account signed in from.
type FailureRecords interface {
	// NoteFailure counts a failed authentication under key (a counter of
	// the Lockout) and returns the failures within window up to t. A
	// non-empty fingerprint (of the wrong password) already counted under
	// key within window is not counted again.
	NoteFailure(ctx context.Context, key string, t time.Time, window time.Duration, fingerprint string) (int, error)
	// Failures returns the count and the time of the last failure under key
	// within window up to t.
	Failures(ctx context.Context, key string, t time.Time, window time.Duration) (int, time.Time, error)
	ClearFailures(ctx context.Context, key string) error
	// RecentFailures lists the failure counters with at least minCount
	// failures, the last at or after since, latest first, at most limit:
	// what may be locking now (see Lockout.Blocks).
	RecentFailures(ctx context.Context, since time.Time, minCount, limit int) ([]FailureCounter, error)
	// PruneFailures forgets counters and fingerprints last touched before
	// t, and returns how many counters went.
	PruneFailures(ctx context.Context, before time.Time) (int64, error)
	// NoteFamiliar records that an account signed in from source at t,
	// keeping only its keep most recent sources.
	NoteFamiliar(ctx context.Context, accountID int64, source string, t time.Time, keep int) error
	// Familiar says when an account last signed in from source (zero:
	// never, or forgotten).
	Familiar(ctx context.Context, accountID int64, source string) (time.Time, error)
}

// SessionRecords are the network sessions RADIUS accounting reports.
type SessionRecords interface {
	// PutSession inserts or updates an accounting session, matched by NAS
	// address and session id.
	PutSession(ctx context.Context, s *Session) error
	// Sessions lists an account's sessions started at or after since,
	// newest first.
	Sessions(ctx context.Context, accountID int64, since time.Time, live bool) ([]Session, error)
	// SessionsAt lists the sessions that had the framed address ip at t
	// (started at or before t, not stopped before t), newest first: who
	// was behind an address then, for a web filter or an investigation.
	SessionsAt(ctx context.Context, ip string, t time.Time) ([]Session, error)
	// CloseNASSessions stops every live session of the NAS at nasAddress at
	// t with cause (a NAS's Accounting-On or -Off says it has dropped them
	// all) and returns how many it stopped.
	CloseNASSessions(ctx context.Context, nasAddress string, t time.Time, cause string) (int, error)
	// NoteNASHeard records when NAS clients, by name, were last heard from
	// (a time earlier than the one stored is ignored). The RADIUS
	// frontend gathers them and writes a batch at most once a minute.
	NoteNASHeard(ctx context.Context, heard map[string]time.Time) error
	// NASHeard gives when each NAS client was last heard from, by name.
	NASHeard(ctx context.Context) (map[string]time.Time, error)
	// PurgeSessions deletes sessions that stopped before t.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)
}
