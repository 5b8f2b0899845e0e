// Package downstream makes directories that follow Keystage (Active
// Directory now; Entra ID or Google Workspace later) hold what Keystage
// holds: the people, their names and ids, the groups Keystage owns, whether
// each may sign in, and the passwords set in Keystage. Keystage is the
// source and a downstream directory its follower, driven by the same plan →
// apply → audit events as the MIS sync, in the other direction.
//
// A Target (downstream/ad) reads its directory and plans the changes; this
// package works out what the directory should hold (Want), holds a plan to
// the mass-change breakers, applies it change by change with an audit event
// for each, pushes the passwords waiting for it (directory.PendingPassword)
// and runs all that on a schedule under the job lock. It never writes
// Keystage's state except through directory and Store.Update, and a Target
// never touches an object it did not create or adopt.
package downstream

import (
	"context"
	"errors"
	"time"

	"keystage.dev/keystage/directory"
)

// Entry is what a downstream directory should hold of one Keystage account.
type Entry struct {
	AccountID   int64
	UUID        string // the account's entryUUID: the owner tag of its object
	Username    string
	MISID       string
	GivenName   string
	FamilyName  string
	DisplayName string
	Email       string
	Role        directory.Role
	YearGroup   string
	// School is the account's school in a trust (its id; empty: the
	// trust's own people, or a single school).
	School string
	// Exists is false for an account that has no business in the
	// downstream directory yet (disabled before it was ever made there).
	Exists bool
	// Enabled says whether Windows logins are allowed (see WindowsLogin);
	// Why is the gate's reason when they are not.
	Enabled bool
	Why     directory.Reason
}

// Group is a Keystage group that a downstream directory mirrors, with its
// members' usernames.
type Group struct {
	Name        string
	Description string
	Members     []string
}

// Want is everything a downstream directory should hold.
type Want struct {
	Entries []Entry
	Groups  []Group
	// Unmirrored are the entryUUIDs of accounts Keystage holds whose role
	// the directory does not mirror: an object of theirs is disabled, not
	// deleted (only a purged account's object is deleted).
	Unmirrored map[string]bool
	// NextChange is the soonest instant after now at which a suspension
	// that disables Windows logins starts or ends (zero: none), when a run
	// must follow without waiting for any change in Keystage.
	NextChange time.Time
}

// Kind is what a planned change does.
type Kind string

// The kinds of change a plan holds.
const (
	KindOU           Kind = "ou-create"
	KindAdopt        Kind = "adopt"
	KindCreate       Kind = "create"
	KindUpdate       Kind = "update"
	KindMove         Kind = "move"
	KindEnable       Kind = "enable"
	KindDisable      Kind = "disable"
	KindDelete       Kind = "delete"
	KindGroupCreate  Kind = "group-create"
	KindGroupMembers Kind = "group-members"
	KindGroupDelete  Kind = "group-delete"
	// KindLeft is an object the plan will not touch, with the reason: an
	// administrator, an object Keystage does not own that holds a name it
	// wants. It changes nothing.
	KindLeft Kind = "left"
)

// Change is one change a plan makes in the downstream directory. What it
// shows (Fields, Why) never holds a secret.
type Change struct {
	Kind Kind
	// Name is the Keystage username, or group name; empty for an OU.
	Name  string
	DN    string // the object's DN now (the DN to make, for a create)
	NewDN string // a move's destination
	// Fields are the attributes it sets, "attribute: old → new".
	Fields []string
	Why    string
	// Apply carries out the change; it is set by the Target that planned it.
	Apply func(ctx context.Context) error `json:"-"`
}

// Plan is the changes that make a downstream directory hold Want.
type Plan struct {
	Downstream string
	At         time.Time
	Changes    []Change
	// Managed is how many objects Keystage owns there now, the base of the
	// breakers.
	Managed int
	// Blocked says why the plan is a mass change that needs
	// AllowMassChange; empty when it is not.
	Blocked         string
	AllowMassChange bool
	// NextChange is Want.NextChange.
	NextChange time.Time
}

// Counts is how many changes of each kind the plan makes.
func (p *Plan) Counts() map[string]int {
	out := map[string]int{}
	for _, c := range p.Changes {
		out[string(c.Kind)]++
	}
	return out
}

// Target is one downstream directory.
type Target interface {
	// Name is the directory's short name ("ad"): its job lock, its audit
	// actions and its pending passwords are named by it.
	Name() string
	// Plan reads the directory and plans the changes that make it hold
	// want. With adopt, objects that match a wanted person (as the Target
	// is configured to match) and are not yet owned are adopted; without,
	// they are left with the reason.
	Plan(ctx context.Context, want Want, adopt bool) (*Plan, error)
	// SetPassword sets a person's password there; mustChange asks for a
	// change at next logon. ErrNotThere when the person's object is not
	// there (yet).
	SetPassword(ctx context.Context, e Entry, password string, mustChange bool) error
	// Close ends the Target's connection.
	Close() error
}

// Errors of the downstream engine; test them with errors.Is.
var (
	// ErrMassChange is a plan that would disable or delete too many of the
	// objects Keystage owns, applied without AllowMassChange.
	ErrMassChange = errors.New("mass change refused")
	// ErrNotThere: the person has no object in the downstream directory
	// yet; the password waits for the next run.
	ErrNotThere = errors.New("not in the downstream directory yet")
	// ErrBusy: another node holds the downstream job lock.
	ErrBusy = errors.New("another node is running this downstream job: try again in a minute")
)
