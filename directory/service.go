package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// Sealer seals secrets at rest (passwords.Keyring).
type Sealer interface {
	Seal(plaintext, additionalData []byte) (string, error)
	Open(sealed string, additionalData []byte) ([]byte, error)
	CurrentID() string
}

// Clock is the time source; tests pass a fake.
type Clock func() time.Time

// Directory is the service that frontends, jobs and commands use: it puts
// the store, the gate, the lockout and the secrets together so that each
// rule lives in one place, and it is the only way a change is made (each
// of its methods one transaction with its audit events). Its parts are
// given at New and not changed after; frontends read them through narrow
// interfaces (see the frontends' own packages).
type Directory struct {
	store   Store
	gate    *Gate
	lockout *Lockout
	uses    *useBatch // last uses gathered by RunRecords
	hasher  *passwords.Hasher
	sealer  Sealer
	now     Clock
	log     *slog.Logger
	// policies are the password policies by name; policyFor picks one for
	// an account (nil: PolicyName).
	policies  map[string]passwords.Policy
	policyFor func(Account) string
	// observer is told of every request a frontend answers (see Outcome);
	// nil: none. It must be quick and safe for concurrent use.
	observer func(Outcome)
	// jobObserver is told of every scheduled job run (see ObserveJob).
	jobObserver func(job, result string, took time.Duration)
	// controls name who approves what, and the rules for personal devices.
	controls Controls

	// passwordDownstreams receive every password set (see PendingPassword).
	passwordDownstreams []string
	// schools are the trust's schools (see School); none for one school.
	schools []School

	mu sync.Mutex
	// accessEnded are called after an account loses access (see EndAccess).
	accessEnded []func(ctx context.Context, a Account)
}

// Config is what New needs beyond the store.
type Config struct {
	Policy    GatePolicy
	Lockout   Lockout // Store is filled in
	Hasher    *passwords.Hasher
	Sealer    Sealer                      // nil: a command that needs no secrets
	Policies  map[string]passwords.Policy // nil: passwords.DefaultPolicies()
	PolicyFor func(Account) string
	Now       Clock
	Log       *slog.Logger
	// AccessEnded are called after an account loses access (see EndAccess);
	// a frontend made after the directory adds its own with OnAccessEnded.
	AccessEnded []func(ctx context.Context, a Account)
	// Observer is told of every request a frontend answers (see Outcome);
	// nil: none. It must be quick and safe for concurrent use.
	Observer func(Outcome)
	// JobObserver is told of every scheduled job run (see ObserveJob).
	JobObserver func(job, result string, took time.Duration)
	// PasswordDownstreams are the downstream directories ("ad") that
	// receive every login password set in Keystage, queued sealed in the
	// same transaction (see PendingPassword); they need Sealer.
	PasswordDownstreams []string
	// Controls name who approves a change to the filtering, a personal
	// device or an exception, and the rules for personal devices.
	Controls Controls
	// Schools are the trust's schools; none for a single school.
	Schools []School
}

// New puts a Directory together.
func New(s Store, cfg Config) *Directory {
	lo := cfg.Lockout
	lo.Store = s
	if lo.Log == nil {
		lo.Log = cfg.Log
	}
	lo.Init()
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pols := cfg.Policies
	if pols == nil {
		pols = passwords.DefaultPolicies()
	}
	return &Directory{
		policies:    pols,
		policyFor:   cfg.PolicyFor,
		store:       s,
		gate:        &Gate{Store: s, Policy: cfg.Policy},
		lockout:     &lo,
		uses:        &useBatch{},
		hasher:      cfg.Hasher,
		sealer:      cfg.Sealer,
		now:         now,
		log:         log,
		accessEnded: slices.Clone(cfg.AccessEnded),
		observer:    cfg.Observer,
		jobObserver: cfg.JobObserver,

		passwordDownstreams: slices.Clone(cfg.PasswordDownstreams),
		controls:            cfg.Controls,
		schools:             slices.Clone(cfg.Schools),
	}
}

// OnAccessEnded adds fn to what is called after an account loses access
// (see EndAccess): a frontend made after the directory (RADIUS ends live
// sessions) hooks itself on so.
func (d *Directory) OnAccessEnded(fn func(ctx context.Context, a Account)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accessEnded = append(d.accessEnded, fn)
}

// OnOutcome sets what is told of every request a frontend answers (see
// Outcome) and OnJobRun what is told of every scheduled job run: the
// metrics, made once the frontends are, hook on so before serving.
func (d *Directory) OnOutcome(fn func(Outcome)) { d.observer = fn }

// OnJobRun: see OnOutcome.
func (d *Directory) OnJobRun(fn func(job, result string, took time.Duration)) { d.jobObserver = fn }

// Store is the directory's store, for the commands and jobs that read it
// whole (exports, backups, the sync). Frontends read through their own
// narrow interfaces instead, and change nothing but through Directory.
func (d *Directory) Store() Store { return d.store }

// Gate is the access gate.
func (d *Directory) Gate() *Gate { return d.gate }

// Lockout is the sign-in lockout.
func (d *Directory) Lockout() *Lockout { return d.lockout }

// Hasher hashes and checks passwords.
func (d *Directory) Hasher() *passwords.Hasher { return d.hasher }

// Sealer seals secrets at rest; nil when none was given.
func (d *Directory) Sealer() Sealer { return d.sealer }

// Now is the directory's clock.
func (d *Directory) Now() time.Time { return d.now() }

// Log is the directory's logger.
func (d *Directory) Log() *slog.Logger { return d.log }

// ErrBadCredentials is a wrong username or password. It never says which.
var ErrBadCredentials = errors.New("invalid username or password")

// RefusedError is a good credential that the gate refused.
type RefusedError struct {
	Account  Account
	Decision Decision
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("access refused for %s: %s", e.Account.Username, e.Decision.Reason)
}

// Authenticate checks a login password for a service, from src (see
// Lockout). It costs the same whether or not the user exists. The lockout
// is asked before the password is looked at: a locked attempt is refused
// with the same answer whatever the password, after a dummy hash so that it
// takes as long as a check. On success the hash is upgraded when its scheme
// or cost is out of date, and the use is noted.
func (d *Directory) Authenticate(ctx context.Context, username, password string, svc Service, src Origin) (Account, error) {
	now := d.Now()
	a, err := d.store.AccountByUsername(ctx, username)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Account{}, err
	}
	if !known {
		a = Account{}
	}
	att, err := d.lockout.Begin(ctx, a, username, src, now)
	if err != nil {
		d.hasher.DummyVerify(password)
		return Account{}, err
	}
	if att.Locked() {
		d.hasher.DummyVerify(password)
		return Account{}, &RefusedError{Account: Account{Username: username}, Decision: att.Lock.Decision()}
	}
	if !known {
		d.hasher.DummyVerify(password)
		d.fail(ctx, att, username, password)
		return Account{}, ErrBadCredentials
	}
	creds, err := d.store.Credentials(ctx, a.ID, CredPassword)
	if err != nil {
		return Account{}, err
	}
	var cred *Credential
	for i := range creds {
		if creds[i].Live(now) {
			cred = &creds[i]
			break
		}
	}
	if cred == nil {
		d.hasher.DummyVerify(password)
		d.fail(ctx, att, a.Username, password)
		return Account{}, ErrBadCredentials
	}
	ok, rehash, err := d.hasher.Verify(cred.Secret, password)
	if err != nil && !errors.Is(err, passwords.ErrPasswordTooLong) {
		d.log.Warn("stored password hash unreadable", "account", a.Username, "err", err)
	}
	if !ok {
		d.fail(ctx, att, a.Username, password)
		return Account{}, ErrBadCredentials
	}
	// The password is right: the source is the owner's, whatever the gate
	// says next.
	if err := att.Succeed(ctx); err != nil {
		d.log.Warn("noting a good sign-in for the lockout", "account", a.Username, "err", err)
	}
	dec, err := d.gate.Check(ctx, a, svc, now)
	if err != nil {
		return Account{}, err
	}
	if !dec.Allow {
		return a, &RefusedError{Account: a, Decision: dec}
	}
	if rehash {
		d.upgradeHash(ctx, a, cred.ID, password)
	}
	d.noteUse(ctx, a, svc, now)
	return a, nil
}

// fail counts a failed attempt. A failure that can be counted nowhere is
// logged: the attempt is refused anyway, and the next Begin refuses while
// the lockout cannot count.
func (d *Directory) fail(ctx context.Context, att *Attempt, username, password string) {
	if err := att.Fail(ctx, password); err != nil {
		d.log.Error("counting a failed sign-in", "account", username, "err", err)
	}
}

// upgradeHash replaces a hash in an old scheme or cost. A failure is logged,
// not returned: the person has authenticated.
func (d *Directory) upgradeHash(ctx context.Context, a Account, credID int64, password string) {
	h, err := d.hasher.Hash(password)
	if err != nil {
		d.log.Warn("rehash", "account", a.Username, "err", err)
		return
	}
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.UpdateCredential(ctx, credID, func(c *Credential) error { c.Secret = h; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: d.Now(), Actor: "system", Action: audit.ActionPasswordRehash, Target: audit.AccountTarget(a.Username)})
	})
	if err != nil {
		d.log.Warn("rehash", "account", a.Username, "err", err)
	}
}

// Record is a helper for callers of Store.Update: it appends an event with
// the directory's clock.
func (d *Directory) Record(ctx context.Context, tx Tx, actor string, action audit.Action, target string, before, after any) error {
	return tx.Record(ctx, &audit.Event{Time: d.Now(), Actor: actor, Action: action, Target: target,
		Before: audit.Snapshot(before), After: audit.Snapshot(after)})
}

// Snapshot is what an audit event records of an account: never a secret.
type AccountSnapshot struct {
	Username   string `json:"username"`
	Role       Role   `json:"role"`
	Source     Source `json:"source"`
	MISID      string `json:"mis_id,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	// DisplayName is how the register names the person.
	DisplayName string `json:"display_name,omitempty"`
	// LegalNameWithheld: the register shows "withheld", not the legal name.
	LegalNameWithheld bool   `json:"legal_name_withheld,omitempty"`
	YearGroup         string `json:"year_group,omitempty"`
	RegGroup          string `json:"reg_group,omitempty"`
	StartDate         string `json:"start_date,omitempty"`
	LeaveDate         string `json:"leave_date,omitempty"`
	Status            Status `json:"status"`
	UIDNumber         int64  `json:"uid_number,omitempty"`
	// School and AlsoSchools are the account's scope (see Account.School).
	School      string   `json:"school,omitempty"`
	AlsoSchools []string `json:"also_schools,omitempty"`
}

// Snapshot of an account for the audit trail.
func (a Account) Snapshot() AccountSnapshot {
	return AccountSnapshot{Username: a.Username, Role: a.Role, Source: a.Source, MISID: a.MISID,
		GivenName: a.GivenName, FamilyName: a.FamilyName, DisplayName: a.DisplayName, LegalNameWithheld: a.LegalNameWithheld, YearGroup: a.YearGroup, RegGroup: a.RegGroup,
		StartDate: FormatDate(a.StartDate), LeaveDate: FormatDate(a.LeaveDate), Status: a.Status, UIDNumber: a.UIDNumber,
		School: a.School, AlsoSchools: a.AlsoSchools}
}

// RecordEvent records, in a transaction of its own, an event that goes
// with no change to the directory: something a person saw or took away (a
// record viewed, a plan made, an export), or a frontend's action on the
// network (a RADIUS disconnect).
func (d *Directory) RecordEvent(ctx context.Context, actor string, action audit.Action, target string, before, after any) error {
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return d.Record(ctx, tx, actor, action, target, before, after)
	})
}
