package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// The access review: access is given on business need, reviewed on a
// schedule and revoked where the need has gone. The review lists who to
// look at; a reviewer records what was kept and what was removed, and why,
// as one audited change.

// ActionReviewRecord is the audit action of a recorded access review, and
// ReviewTarget the target all reviews are recorded against.
const (
	ActionReviewRecord = "access_review.record"
	ReviewTarget       = "access-review"
)

// ReviewPolicy configures the access review.
type ReviewPolicy struct {
	// Every is how often a review is due (0: 90 days).
	Every time.Duration
	// DormantAfter is how long without LDAP, Wi-Fi or portal use makes an
	// active account dormant (0: 60 days).
	DormantAfter time.Duration
	// PrivilegedGroups name the groups whose every member is reviewed:
	// technicians, safeguarding leads, auditors, service accounts and any
	// group mapped to a staff VLAN. Service accounts are reviewed whether
	// or not they are in one.
	PrivilegedGroups []string
	// StaffVLANs are the VLANs that reach staff networks: a group the
	// network policies in force put on one is privileged too.
	StaffVLANs []string
	// School, in a trust, lists that school's people only (its own and
	// those on its roll too); empty: everyone.
	School string
}

func (p ReviewPolicy) every() time.Duration {
	if p.Every > 0 {
		return p.Every
	}
	return 90 * 24 * time.Hour
}

func (p ReviewPolicy) dormantAfter() time.Duration {
	if p.DormantAfter > 0 {
		return p.DormantAfter
	}
	return 60 * 24 * time.Hour
}

// ReviewKind says why an account is on the review.
type ReviewKind string

// The kinds of review entry.
const (
	ReviewDormant    ReviewKind = "dormant"
	ReviewPrivileged ReviewKind = "privileged"
	ReviewGuest      ReviewKind = "guest"
)

// ReviewItem is one account to review, for one reason. A privileged
// account is listed once per privileged group it is in.
type ReviewItem struct {
	Kind     ReviewKind
	Username string
	Name     string
	Role     Role
	Group    string    // ReviewPrivileged: the group (empty for a service account outside one); ReviewException: "approval N"
	LastUse  time.Time // of any service; zero: never
	// Detail says what an exception allows or which devices are over the
	// limit (see review_controls.go).
	Detail string
}

// Review is what a reviewer looks at.
type Review struct {
	At         time.Time
	Items      []ReviewItem
	LastReview time.Time // zero: never reviewed
	LastBy     string
	NextDue    time.Time // At when never reviewed
}

// ReviewDecision is the reviewer's word on one account: kept, or removed
// (disabled, or taken out of Group when one is named), with the reason.
type ReviewDecision struct {
	Username string `json:"username"`
	Group    string `json:"group,omitempty"`
	Remove   bool   `json:"remove"`
	Reason   string `json:"reason"`
}

// ReviewRecord is a review as recorded: by whom, with what notes and
// decisions. Its time is the directory's clock.
type ReviewRecord struct {
	Reviewer  string           `json:"reviewer"`
	Notes     string           `json:"notes,omitempty"`
	Decisions []ReviewDecision `json:"decisions"`
	// School, in a trust, is the school whose people were reviewed (its
	// review is recorded apart, ReviewTarget:SCHOOL); empty: the trust's.
	School string `json:"school,omitempty"`
}

// ErrReviewIncomplete is a recorded review that cannot stand: a decision
// without a reason or a username, or none at all.
var ErrReviewIncomplete = errors.New("access review incomplete")

// Review lists the accounts to review at the directory's clock: dormant
// ones, every member of a privileged group and every service account, and
// every active guest, each with its last use.
func (d *Directory) Review(ctx context.Context, p ReviewPolicy) (Review, error) {
	now := d.Now().UTC()
	r := Review{At: now}
	accounts := map[int64]Account{}
	account := func(id int64) (Account, error) {
		if a, ok := accounts[id]; ok {
			return a, nil
		}
		a, err := d.store.Account(ctx, id)
		if err == nil {
			accounts[id] = a
		}
		return a, err
	}
	lastUse := func(a Account) (time.Time, error) {
		uses, err := d.store.LastUse(ctx, a.ID)
		var last time.Time
		for _, t := range uses {
			if t.After(last) {
				last = t
			}
		}
		return last, err
	}
	item := func(kind ReviewKind, a Account, group string, last time.Time) ReviewItem {
		return ReviewItem{Kind: kind, Username: a.Username, Name: a.Name(), Role: a.Role, Group: group, LastUse: last}
	}
	scope := SchoolScope{School: p.School}

	dormant, err := d.store.Dormant(ctx, now.Add(-p.dormantAfter()), 0)
	if err != nil {
		return r, fmt.Errorf("access review: %w", err)
	}
	for _, u := range dormant {
		a, err := account(u.AccountID)
		if errors.Is(err, ErrNotFound) {
			continue // purged since
		} else if err != nil {
			return r, fmt.Errorf("access review: %w", err)
		}
		if scope.Covers(a) {
			r.Items = append(r.Items, item(ReviewDormant, a, "", u.LastUse))
		}
	}

	privileged, err := d.privilegedGroups(ctx, p)
	if err != nil {
		return r, fmt.Errorf("access review: %w", err)
	}
	inGroup := map[string]bool{}
	for _, name := range privileged {
		g, err := d.store.GroupByName(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue // named in the configuration, not made yet
		} else if err != nil {
			return r, fmt.Errorf("access review: group %s: %w", name, err)
		}
		members, err := d.store.Members(ctx, g.ID)
		if err != nil {
			return r, fmt.Errorf("access review: group %s: %w", name, err)
		}
		for _, m := range members {
			a, err := d.store.AccountByUsername(ctx, m)
			if err != nil {
				return r, fmt.Errorf("access review: %s: %w", m, err)
			}
			if !scope.Covers(a) {
				continue
			}
			last, err := lastUse(a)
			if err != nil {
				return r, fmt.Errorf("access review: %w", err)
			}
			r.Items = append(r.Items, item(ReviewPrivileged, a, g.Name, last))
			inGroup[a.Username] = true
		}
	}
	for _, q := range []struct {
		role Role
		kind ReviewKind
	}{{RoleService, ReviewPrivileged}, {RoleGuest, ReviewGuest}} {
		list, err := d.store.ListAccounts(ctx, scope.Query(AccountQuery{Role: q.role, Status: StatusActive}))
		if err != nil {
			return r, fmt.Errorf("access review: %w", err)
		}
		for _, a := range list {
			if q.role == RoleService && inGroup[a.Username] {
				continue
			}
			last, err := lastUse(a)
			if err != nil {
				return r, fmt.Errorf("access review: %w", err)
			}
			r.Items = append(r.Items, item(q.kind, a, "", last))
		}
	}
	more, err := d.reviewControls(ctx, now, lastUse)
	if err != nil {
		return r, fmt.Errorf("access review: %w", err)
	}
	r.Items = append(r.Items, more...)
	slices.SortStableFunc(r.Items, func(a, b ReviewItem) int {
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Username, b.Username)
	})

	last, err := d.LastReviewOf(ctx, p.School)
	if err != nil {
		return r, err
	}
	r.LastReview, r.LastBy = last.Time, last.Actor
	r.NextDue = NextReviewDue(last.Time, p, now)
	return r, nil
}

// NextReviewDue is when the next review is due after one at last (zero:
// none yet, so due now).
func NextReviewDue(last time.Time, p ReviewPolicy, now time.Time) time.Time {
	if last.IsZero() {
		return now
	}
	return last.Add(p.every())
}

// LastReview is the audit event of the latest recorded review (zero when
// there has been none).
func (d *Directory) LastReview(ctx context.Context) (audit.Event, error) {
	return d.LastReviewOf(ctx, "")
}

// reviewTarget is the target a school's reviews are recorded against, the
// trust's ReviewTarget itself.
func reviewTarget(school string) string {
	if school == "" {
		return ReviewTarget
	}
	return ReviewTarget + ":" + school
}

// LastReviewOf is the audit event of a school's latest recorded review
// ("": the trust's).
func (d *Directory) LastReviewOf(ctx context.Context, school string) (audit.Event, error) {
	var last audit.Event
	for e, err := range EventsAbout(ctx, d.store, reviewTarget(school)) {
		if err != nil {
			return last, fmt.Errorf("last access review: %w", err)
		}
		if e.Action == ActionReviewRecord {
			last = e
		}
	}
	return last, nil
}

// reviewSnapshot is what the audit event of a review records.
type reviewSnapshot struct {
	Reviewer string           `json:"reviewer"`
	Notes    string           `json:"notes,omitempty"`
	Kept     []ReviewDecision `json:"kept"`
	Removed  []ReviewDecision `json:"removed"`
}

// RecordReview records a review in one transaction: its own audit event
// (who, when, what was kept, what was removed and why) and every removal,
// each through the change it is (account.disable, group.remove_member)
// with its own event. A removal from a group the MIS keeps is refused
// (ErrManagedByMIS): the whole review is then not recorded. Access ends for
// disabled accounts once the change has committed.
func (d *Directory) RecordReview(ctx context.Context, actor string, rec ReviewRecord) error {
	if strings.TrimSpace(rec.Reviewer) == "" {
		rec.Reviewer = actor
	}
	if len(rec.Decisions) == 0 {
		return fmt.Errorf("%w: no decisions: list each account reviewed as kept or removed, with a reason", ErrReviewIncomplete)
	}
	snap := reviewSnapshot{Reviewer: rec.Reviewer, Notes: rec.Notes, Kept: []ReviewDecision{}, Removed: []ReviewDecision{}}
	for i, dec := range rec.Decisions {
		if strings.TrimSpace(dec.Username) == "" || strings.TrimSpace(dec.Reason) == "" {
			return fmt.Errorf("%w: decision %d needs a username and a reason", ErrReviewIncomplete, i+1)
		}
		if dec.Remove {
			snap.Removed = append(snap.Removed, dec)
		} else {
			snap.Kept = append(snap.Kept, dec)
		}
	}
	var ended []Account
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		ended = ended[:0]
		for _, dec := range snap.Kept {
			if _, err := tx.AccountByUsername(ctx, dec.Username); err != nil {
				return fmt.Errorf("account %s: %w", dec.Username, err)
			}
		}
		for _, dec := range snap.Removed {
			a, err := tx.AccountByUsername(ctx, dec.Username)
			if err != nil {
				return fmt.Errorf("account %s: %w", dec.Username, err)
			}
			if id := ApprovalOfGroup(dec.Group); id != 0 {
				if err := d.revokeInReview(ctx, tx, actor, a, id, dec.Reason); err != nil {
					return err
				}
				continue
			}
			if dec.Group != "" {
				g, err := tx.GroupByName(ctx, dec.Group)
				if err != nil {
					return fmt.Errorf("group %s: %w", dec.Group, err)
				}
				if IsManagedByMIS(g) {
					return fmt.Errorf("group %s: %w", g.Name, ErrManagedByMIS)
				}
				members, err := tx.Members(ctx, g.ID)
				if err != nil {
					return err
				}
				if !slices.Contains(members, a.Username) {
					continue // gone from the group since the list was drawn
				}
				if err := tx.RemoveMember(ctx, g.ID, a.ID); err != nil {
					return err
				}
				if err := d.Record(ctx, tx, actor, audit.ActionGroupRemoveMember, "group:"+g.Name, nil,
					map[string]string{"member": a.Username, "reason": "access review: " + dec.Reason}); err != nil {
					return err
				}
				continue
			}
			if a.Status == StatusDisabled {
				continue
			}
			after, err := tx.UpdateAccount(ctx, a.ID, func(x *Account) error {
				x.Status, x.DisabledAt, x.DisableReason = StatusDisabled, d.Now(), "access review: "+dec.Reason
				return nil
			})
			if err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionAccountDisable, audit.AccountTarget(a.Username), a.Snapshot(), after.Snapshot()); err != nil {
				return err
			}
			ended = append(ended, after)
		}
		return d.Record(ctx, tx, actor, ActionReviewRecord, reviewTarget(rec.School), nil, snap)
	})
	if err != nil {
		return fmt.Errorf("record access review: %w", err)
	}
	for _, a := range ended {
		d.EndAccess(ctx, a)
	}
	return nil
}

// ReviewHeader is the columns of an exported review.
func ReviewHeader() []string {
	return []string{"Reason listed", "Username", "Name", "Role", "Group", "Last use (UTC)", "Decision", "Reason"}
}

// ExportReview writes a review's list for the auditor as CSV or XLSX, one
// row per entry. The last two columns are left for the reviewer to fill in
// (keep or remove, and why): the CSV so filled in is what ParseReviewCSV
// reads back to record the review.
func ExportReview(w io.Writer, format string, r Review) error {
	tw, err := audit.NewTableWriter(w, format, "Access review", ReviewHeader())
	if err != nil {
		return err
	}
	for _, it := range r.Items {
		last := "never"
		if !it.LastUse.IsZero() {
			last = it.LastUse.UTC().Format("2006-01-02 15:04")
		}
		if err := tw.WriteCells([]string{string(it.Kind), it.Username, it.Name, string(it.Role), exportGroup(it), last, "", ""}); err != nil {
			return err
		}
	}
	return tw.Close()
}
