package portal

import (
	"context"
	"log/slog"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// Reader is the part of the directory's state the portal reads: people,
// their groups, credentials, AUPs, consents and suspensions, and the
// sync's runs and refusals.
type Reader interface {
	Account(ctx context.Context, id int64) (directory.Account, error)
	AccountByUsername(ctx context.Context, username string) (directory.Account, error)
	ListAccounts(ctx context.Context, q directory.AccountQuery) ([]directory.Account, error)
	CountAccounts(ctx context.Context, q directory.AccountQuery) (int, error)
	GroupsOf(ctx context.Context, accountID int64) ([]directory.Group, error)
	Credentials(ctx context.Context, accountID int64, kind directory.CredentialKind) ([]directory.Credential, error)
	AUPDocuments(ctx context.Context) ([]directory.AUPDocument, error)
	Signatures(ctx context.Context, accountID int64) ([]directory.Signature, error)
	Consents(ctx context.Context, accountID int64) ([]directory.Consent, error)
	Suspensions(ctx context.Context, accountID int64) ([]directory.Suspension, error)
	LegalHolds(ctx context.Context, accountID int64) ([]directory.LegalHold, error)
	SyncRuns(ctx context.Context, kind string, limit int) ([]directory.SyncRun, error)
	SyncRefusals(ctx context.Context) ([]directory.SyncRefusal, error)
	GroupByName(ctx context.Context, name string) (directory.Group, error)
	Members(ctx context.Context, groupID int64) ([]string, error)
	NetworkPolicies(ctx context.Context) ([]directory.NetworkPolicy, error)
	Approvals(ctx context.Context, accountID int64) ([]directory.Approval, error)
	Devices(ctx context.Context, accountID int64) ([]directory.Device, error)
}

// Store is what the portal reads and the operational records it keeps or
// shows apart from the directory's state: its own sessions, last use, and
// a person's network sessions (a directory.Store is one).
type Store interface {
	Reader
	directory.UseRecords
	Sessions(ctx context.Context, accountID int64, since time.Time, live bool) ([]directory.Session, error)

	PutPortalSession(ctx context.Context, s *directory.PortalSession) error
	PortalSession(ctx context.Context, id string, now time.Time) (directory.PortalSession, error)
	DeletePortalSession(ctx context.Context, id string) error
	DeletePortalSessionsOf(ctx context.Context, accountID int64, keep string) (int, error)
	PurgePortalSessions(ctx context.Context, before time.Time) (int, error)
}

// Directory is what the portal asks of the directory service (a
// *directory.Directory is one). Every change the portal makes is one of
// these methods, each one transaction with its audit event.
type Directory interface {
	Gate() *directory.Gate
	Lockout() *directory.Lockout
	Sealer() directory.Sealer
	Now() time.Time
	Log() *slog.Logger
	Policy(a directory.Account) passwords.Policy
	// PolicyFor is a's password policy with an exception in force.
	PolicyFor(ctx context.Context, a directory.Account) (passwords.Policy, error)
	ObserveSince(start time.Time, svc directory.Service, op, result string, reason directory.Reason)

	Authenticate(ctx context.Context, username, password string, svc directory.Service, src directory.Origin) (directory.Account, error)
	CheckPassword(ctx context.Context, a directory.Account, candidate string) ([]passwords.Violation, error)
	ChangePassword(ctx context.Context, actor string, a directory.Account, newPassword string) ([]passwords.Violation, error)
	IssueWiFi(ctx context.Context, actor string, a directory.Account) (string, error)
	WiFiSecret(ctx context.Context, a directory.Account) (string, error)
	IssueGuest(ctx context.Context, actor string, g directory.Guest) (directory.IssuedGuest, error)
	HasPassword(ctx context.Context, a directory.Account) (bool, error)
	DashboardOf(ctx context.Context, review directory.ReviewPolicy, scope directory.SchoolScope) (directory.Dashboard, error)
	Review(ctx context.Context, p directory.ReviewPolicy) (directory.Review, error)
	RecordReview(ctx context.Context, actor string, rec directory.ReviewRecord) error
	IssueFirstPasswords(ctx context.Context, actor string, people []directory.Account, valid time.Duration, reset bool) ([]directory.FirstPassword, []directory.Skipped, error)

	AddPasskey(ctx context.Context, actor string, a directory.Account, name, secret, codeHash string) (directory.Credential, error)
	RenamePasskey(ctx context.Context, actor string, a directory.Account, c directory.Credential, name string) error
	RemovePasskey(ctx context.Context, actor string, a directory.Account, c directory.Credential) error
	IssuePasskeyEnrolment(ctx context.Context, actor string, a directory.Account) (code string, expires time.Time, err error)
	HasPasskeyEnrolment(ctx context.Context, a directory.Account, codeHash string) (bool, error)

	Suspend(ctx context.Context, actor string, a directory.Account, s directory.Suspension) (directory.Suspension, error)
	Lift(ctx context.Context, actor string, a directory.Account, id int64) (directory.Suspension, error)
	LiftWith(ctx context.Context, actor string, a directory.Account, id int64, l directory.Lifting) (directory.Suspension, error)
	RecordSignature(ctx context.Context, actor string, a directory.Account, sig directory.Signature) (directory.Signature, error)
	RecordConsent(ctx context.Context, actor string, a directory.Account, c directory.Consent) (directory.Consent, error)
	SetLegalHold(ctx context.Context, actor string, roles []string, a directory.Account, h directory.LegalHold) (directory.LegalHold, error)
	LiftLegalHolds(ctx context.Context, actor string, roles []string, a directory.Account, note string) ([]directory.LegalHold, error)

	RecordPortalSignin(ctx context.Context, a directory.Account, sess directory.PortalSession, use *directory.PasskeyUse) error
	RecordEvent(ctx context.Context, actor string, action audit.Action, target string, before, after any) error

	// The filtering's changes, proposed and decided (see filtering.go).
	Controls() directory.Controls
	ProposeNetworkPolicy(ctx context.Context, actor string, p directory.NetworkPolicy) (directory.NetworkPolicy, error)
	DecideNetworkPolicy(ctx context.Context, actor string, by directory.Account, id int64, approve bool, note string) (directory.NetworkPolicy, error)
	// Approvals for one person (approvals.go).
	Approve(ctx context.Context, actor string, by, a directory.Account, ap directory.Approval) (directory.Approval, error)
	RevokeApproval(ctx context.Context, actor string, a directory.Account, id int64) (directory.Approval, error)
}
