package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// ErrNotApprover is a decision by someone who is not in the groups the
// configuration names for it; the wrapping message names them.
var ErrNotApprover = errors.New("not an approver")

// Controls are the school's rules that name people: who approves a change
// to the filtering, a pupil's personal device, or an exception for a
// vulnerable pupil; and what personal devices may join the Wi-Fi.
type Controls struct {
	// FilteringApprovers are the groups whose members approve a change to
	// the mapping of groups to VLANs and filters (the senior leadership).
	FilteringApprovers []string
	// DeviceApprovers approve a personal device for someone whose audience
	// needs an approval (DeviceApproval).
	DeviceApprovers []string
	// ExceptionApprovers approve an exception to the network or the
	// password policy for one person.
	ExceptionApprovers []string
	// Devices are the rules for personal devices on the Wi-Fi.
	Devices DevicePolicy
}

// approvers are the groups that approve kind.
func (c Controls) approvers(kind ApprovalKind) []string {
	if kind == ApprovalDevice {
		return c.DeviceApprovers
	}
	return c.ExceptionApprovers
}

// Controls are the directory's rules that name people.
func (d *Directory) Controls() Controls { return d.controls }

// checkApprover refuses by unless they are a member of one of groups.
func (d *Directory) checkApprover(ctx context.Context, r Reader, by Account, groups []string, what string) error {
	if len(groups) == 0 {
		return fmt.Errorf("%w: no group may approve %s: name one in the configuration", ErrNotApprover, what)
	}
	if by.Status != StatusActive {
		return fmt.Errorf("%w: %s is not an active account", ErrNotApprover, by.Username)
	}
	gs, err := r.GroupsOf(ctx, by.ID)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if slices.Contains(groups, g.Name) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s may not approve %s: only members of %s may", ErrNotApprover, by.Username, what, strings.Join(groups, ", "))
}

// isActor reports whether actor ("cli:jsmith", "portal:jsmith",
// "user:jsmith") names the person username.
func isActor(actor, username string) bool {
	_, name, ok := strings.Cut(actor, ":")
	return ok && name == username
}

// NetworkSnapshot is what an audit event records of a network policy.
type NetworkSnapshot struct {
	ID             int64               `json:"id"`
	Group          string              `json:"group"`
	Precedence     int                 `json:"precedence"`
	VLAN           string              `json:"vlan,omitempty"`
	FilterID       string              `json:"filter_id,omitempty"`
	SessionTimeout string              `json:"session_timeout,omitempty"`
	Class          string              `json:"class,omitempty"`
	School         string              `json:"school,omitempty"`
	Removal        bool                `json:"removal,omitempty"`
	Status         NetworkPolicyStatus `json:"status"`
	RiskNote       string              `json:"risk_note,omitempty"`
	DecidedBy      string              `json:"decided_by,omitempty"`
	DecisionNote   string              `json:"decision_note,omitempty"`
}

func networkSnapshot(p NetworkPolicy) NetworkSnapshot {
	s := NetworkSnapshot{ID: p.ID, Group: p.Group, Precedence: p.Precedence, VLAN: p.VLAN, FilterID: p.FilterID, Class: p.Class, School: p.School,
		Removal: p.Removal, Status: p.Status, RiskNote: p.RiskNote, DecidedBy: p.DecidedBy, DecisionNote: p.DecisionNote}
	if p.SessionTimeout > 0 {
		s.SessionTimeout = p.SessionTimeout.String()
	}
	return s
}

// validate says what is wrong with a proposed mapping, for the proposer.
func (p NetworkPolicy) validate() error {
	switch {
	case strings.TrimSpace(p.Group) == "":
		return invalid("Name the group the mapping is for (or * for everyone).")
	case len(p.VLAN) > 253 || len(p.FilterID) > 253 || len(p.Class) > 253:
		return invalid("The VLAN, filter and class are at most 253 bytes each.")
	case p.SessionTimeout < 0 || p.SessionTimeout > time.Duration(1<<32-1)*time.Second:
		return invalid("The session timeout is out of range.")
	case !p.Removal && p.VLAN == "" && p.FilterID == "" && p.Class == "" && p.SessionTimeout == 0:
		return invalid("Give a VLAN, a filter, a class or a session timeout (or propose removing the group's mapping).")
	case strings.TrimSpace(p.RiskNote) == "":
		return invalid("Give a risk note: what the change lets through or blocks, for whom, and why it is safe (the approver reads it).")
	}
	return nil
}

// ProposeNetworkPolicy records a proposed change to the mapping of a group
// to a network (or its removal), with its risk note. It has no effect
// until a member of Controls.FilteringApprovers approves it.
func (d *Directory) ProposeNetworkPolicy(ctx context.Context, actor string, p NetworkPolicy) (NetworkPolicy, error) {
	p.Group, p.RiskNote, p.School = strings.TrimSpace(p.Group), strings.TrimSpace(p.RiskNote), strings.TrimSpace(p.School)
	if err := d.CheckSchool(p.School); err != nil {
		return p, fmt.Errorf("propose network policy: %w", err)
	}
	if p.Removal {
		p.VLAN, p.FilterID, p.Class, p.SessionTimeout = "", "", "", 0
	}
	if err := p.validate(); err != nil {
		return p, fmt.Errorf("propose network policy: %w", err)
	}
	p.ID, p.Status, p.ProposedBy, p.ProposedAt = 0, NetworkProposed, actor, d.Now()
	p.DecidedBy, p.DecidedAt, p.DecisionNote = "", time.Time{}, ""
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.AddNetworkPolicy(ctx, &p); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionNetworkPropose, networkTarget(p.School, p.Group), nil, networkSnapshot(p))
	})
	if err != nil {
		return p, fmt.Errorf("propose network policy for %s: %w", p.Group, err)
	}
	return p, nil
}

// DecideNetworkPolicy approves or rejects proposal id. by is the person
// deciding, a member of Controls.FilteringApprovers and not the proposer;
// actor is who records it. An approved mapping supersedes the group's
// mapping in force for the same school (or the trust's for a trust-wide
// one), in the same transaction.
func (d *Directory) DecideNetworkPolicy(ctx context.Context, actor string, by Account, id int64, approve bool, note string) (NetworkPolicy, error) {
	var out NetworkPolicy
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := d.checkApprover(ctx, tx, by, d.controls.FilteringApprovers, "a change to the filtering"); err != nil {
			return err
		}
		all, err := tx.NetworkPolicies(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(all, func(p NetworkPolicy) bool { return p.ID == id })
		switch {
		case i < 0:
			return fmt.Errorf("network policy %d: %w", id, ErrNotFound)
		case all[i].Status != NetworkProposed:
			return invalid("Proposal %d is %s already: propose the change again.", id, all[i].Status)
		case isActor(all[i].ProposedBy, by.Username):
			return fmt.Errorf("%w: %s proposed this change and may not approve it too: another approver decides", ErrNotApprover, by.Username)
		}
		p := all[i]
		status, action := NetworkRejected, audit.ActionNetworkReject
		if approve {
			status, action = NetworkApproved, audit.ActionNetworkApprove
			for _, old := range all {
				if old.Status == NetworkApproved && old.Group == p.Group && old.School == p.School {
					if _, err := tx.UpdateNetworkPolicy(ctx, old.ID, func(x *NetworkPolicy) error { x.Status = NetworkSuperseded; return nil }); err != nil {
						return err
					}
				}
			}
		}
		now := d.Now()
		out, err = tx.UpdateNetworkPolicy(ctx, id, func(x *NetworkPolicy) error {
			x.Status, x.DecidedBy, x.DecidedAt, x.DecisionNote = status, by.Username, now, strings.TrimSpace(note)
			return nil
		})
		if err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, action, networkTarget(p.School, p.Group), networkSnapshot(p), networkSnapshot(out))
	})
	if err != nil {
		return out, fmt.Errorf("decide network policy %d: %w", id, err)
	}
	return out, nil
}

// ImportNetworkPolicies takes the configuration's mappings into the
// directory as approved, in their order, when the directory holds no
// network policy at all (its first start); otherwise it does nothing, and
// the configuration's mappings are no longer read. It returns how many it
// took.
func (d *Directory) ImportNetworkPolicies(ctx context.Context, actor string, ps []NetworkPolicy) (int, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	n := 0
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		n = 0
		have, err := tx.NetworkPolicies(ctx)
		if err != nil || len(have) > 0 {
			return err
		}
		now := d.Now()
		for i, p := range ps {
			p.ID, p.Precedence, p.Removal, p.Status, p.School = 0, (i+1)*10, false, NetworkApproved, ""
			p.RiskNote = "taken from the configuration file's [[radius.policy]] at first start"
			p.ProposedBy, p.ProposedAt, p.DecidedBy, p.DecidedAt = actor, now, "configuration", now
			if err := tx.AddNetworkPolicy(ctx, &p); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionNetworkImport, networkTarget(p.School, p.Group), nil, networkSnapshot(p)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import network policies: %w", err)
	}
	return n, nil
}

// networkTarget names a group's mapping in the trail: network:pupils for
// the trust's, network:north/pupils for a school's NAS clients.
func networkTarget(school, group string) string {
	if school != "" {
		group = school + "/" + group
	}
	return audit.Target(audit.KindNetwork, group)
}
