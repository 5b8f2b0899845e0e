package directory

import (
	"context"
	"slices"
	"strings"
	"time"
)

// NetworkPolicyStatus is where a proposed mapping of a group to a network
// stands.
type NetworkPolicyStatus string

// The statuses of a network policy. Only an approved one that nothing has
// superseded is in force.
const (
	NetworkProposed   NetworkPolicyStatus = "proposed"
	NetworkApproved   NetworkPolicyStatus = "approved"
	NetworkRejected   NetworkPolicyStatus = "rejected"
	NetworkSuperseded NetworkPolicyStatus = "superseded"
)

// NetworkPolicy maps a group to the network its members land on over
// RADIUS: a VLAN, a filter (Filter-Id), a session timeout and a Class. It
// is proposed with a risk note and takes effect only once approved by a
// member of the configured approver groups (see ProposeNetworkPolicy and
// DecideNetworkPolicy): a change to the filtering is risk assessed first.
type NetworkPolicy struct {
	ID int64
	// Group is a group name; "*" matches every account.
	Group string
	// Precedence orders the mappings in force: lowest first, and the first
	// whose group an account is in applies whole.
	Precedence     int
	VLAN           string
	FilterID       string
	SessionTimeout time.Duration
	Class          string
	// School, when set, gives the mapping for the NAS clients of one of
	// the trust's schools only ("": the trust-wide mapping). A request
	// through a school's NAS follows that school's mappings first, then
	// the trust's: the network follows the site, not only the person.
	School string
	// Removal proposes that the group have no mapping any more.
	Removal bool
	Status  NetworkPolicyStatus
	// RiskNote is the proposer's assessment of the change's risk.
	RiskNote   string
	ProposedBy string // the actor who proposed
	ProposedAt time.Time
	// DecidedBy is the username of the approver (or of who rejected).
	DecidedBy    string
	DecidedAt    time.Time
	DecisionNote string
}

// InForce reports whether p is part of the mapping RADIUS applies.
func (p NetworkPolicy) InForce() bool { return p.Status == NetworkApproved && !p.Removal }

// NetworkPoliciesInForce picks, from all the stored policies, the mapping in
// force, in order of precedence (then of approval).
func NetworkPoliciesInForce(all []NetworkPolicy) []NetworkPolicy {
	var out []NetworkPolicy
	for _, p := range all {
		if p.InForce() {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b NetworkPolicy) int {
		if a.Precedence != b.Precedence {
			return a.Precedence - b.Precedence
		}
		return int(a.ID - b.ID)
	})
	return out
}

// ApprovalKind is what an approval for one person allows.
type ApprovalKind string

// The kinds of approval.
const (
	// ApprovalDevice lets a person whose audience needs an approval join
	// the Wi-Fi from a personal device (one device, or any when Device is
	// empty).
	ApprovalDevice ApprovalKind = "personal-device"
	// ApprovalNetwork puts a person on another VLAN or filter than their
	// groups give: an exception for a vulnerable pupil.
	ApprovalNetwork ApprovalKind = "network"
	// ApprovalPassword gives a person another password policy (a simpler
	// one for a pupil with special educational needs).
	ApprovalPassword ApprovalKind = "password"
)

// ParseApprovalKind accepts one of the kinds above.
func ParseApprovalKind(s string) (ApprovalKind, bool) {
	switch k := ApprovalKind(s); k {
	case ApprovalDevice, ApprovalNetwork, ApprovalPassword:
		return k, true
	}
	return "", false
}

// Approval is a decision about one person by a named approver, with a
// reason and an end date: a personal device allowed, or an exception to the
// network or the password policy.
type Approval struct {
	ID        int64
	AccountID int64
	Kind      ApprovalKind
	// Device is the MAC address (aa-bb-cc-dd-ee-ff) of the one personal
	// device approved; empty: any of the person's devices.
	Device string
	// VLAN and FilterID replace the group's for ApprovalNetwork (empty:
	// the group's).
	VLAN     string
	FilterID string
	// PasswordPolicy names the password policy for ApprovalPassword.
	PasswordPolicy string
	Reason         string
	// ApprovedBy is the username of the approver, a member of the
	// configured approver groups.
	ApprovedBy string
	// RecordedBy is the actor who recorded it (the approver in the portal,
	// or the operator of a command).
	RecordedBy string
	CreatedAt  time.Time
	Until      time.Time
	RevokedAt  time.Time
	RevokedBy  string
}

// InForce reports whether the approval holds at t.
func (a Approval) InForce(t time.Time) bool {
	return a.RevokedAt.IsZero() && t.Before(a.Until) && !t.Before(a.CreatedAt)
}

// SchoolDevice is a device the school owns, registered by its MAC address:
// it is nobody's personal device, so the rules for personal devices do not
// apply to it and it does not count towards anyone's limit.
type SchoolDevice struct {
	MAC     string
	Label   string
	AddedBy string
	AddedAt time.Time
}

// Device is a device an account has joined the Wi-Fi from.
type Device struct {
	AccountID int64
	MAC       string
	FirstAt   time.Time
	LastAt    time.Time
	// Flagged: the device was let on over the limit of devices per person
	// (DeviceAtLimitFlag), for the access review.
	Flagged bool
}

// NormalMAC writes a MAC address as RADIUS does for Calling-Station-Id,
// aa-bb-cc-dd-ee-ff, whatever the separators and case; ok is false when s
// is not 12 hex digits.
func NormalMAC(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f'):
			b.WriteRune(r)
		case r == ':' || r == '-' || r == '.':
		default:
			return "", false
		}
	}
	h := b.String()
	if len(h) != 12 {
		return "", false
	}
	return h[0:2] + "-" + h[2:4] + "-" + h[4:6] + "-" + h[6:8] + "-" + h[8:10] + "-" + h[10:12], true
}

// PolicyReader reads the network policies, approvals and school devices.
type PolicyReader interface {
	// NetworkPolicies lists every network policy (proposals, approved,
	// rejected, superseded), ordered by ID.
	NetworkPolicies(ctx context.Context) ([]NetworkPolicy, error)
	// Approvals lists an account's approvals (accountID 0: everyone's),
	// revoked and ended ones too, ordered by ID.
	Approvals(ctx context.Context, accountID int64) ([]Approval, error)
	// SchoolDevices lists the register of school devices, by MAC.
	SchoolDevices(ctx context.Context) ([]SchoolDevice, error)
	// SchoolDevice finds one by MAC; ErrNotFound when not registered.
	SchoolDevice(ctx context.Context, mac string) (SchoolDevice, error)
	// Devices lists the devices an account has joined the Wi-Fi from
	// (accountID 0: everyone's), ordered by account then MAC.
	Devices(ctx context.Context, accountID int64) ([]Device, error)
}

// PolicyTx changes them, inside a transaction with its audit event.
type PolicyTx interface {
	AddNetworkPolicy(ctx context.Context, p *NetworkPolicy) error
	UpdateNetworkPolicy(ctx context.Context, id int64, fn func(*NetworkPolicy) error) (NetworkPolicy, error)
	AddApproval(ctx context.Context, a *Approval) error
	UpdateApproval(ctx context.Context, id int64, fn func(*Approval) error) (Approval, error)
	// PutSchoolDevice registers a device, or relabels it.
	PutSchoolDevice(ctx context.Context, d *SchoolDevice) error
	// DeleteSchoolDevice takes a device off the register (ErrNotFound
	// when it is not on it).
	DeleteSchoolDevice(ctx context.Context, mac string) error
	// ForgetDevice forgets that an account used a device, so that it no
	// longer counts towards the limit (ErrNotFound when not known).
	ForgetDevice(ctx context.Context, accountID int64, mac string) error
}

// DeviceRecords are the devices each account joined the Wi-Fi from, an
// operational record written by RADIUS without audit events.
type DeviceRecords interface {
	// NoteDevice records that an account joined from mac at t; flagged
	// marks a device let on over the limit (a flag once set stays).
	NoteDevice(ctx context.Context, accountID int64, mac string, t time.Time, flagged bool) error
	// PruneDevices forgets devices last seen before t, except those of the
	// accounts in keep (under a legal hold), returning how many.
	PruneDevices(ctx context.Context, before time.Time, keep []int64) (int64, error)
}
