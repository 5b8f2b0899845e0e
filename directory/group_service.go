package directory

import (
	"context"
	"errors"
	"fmt"

	"keystage.dev/keystage/audit"
)

// Errors of the group commands; match with errors.Is.
var (
	// ErrManagedByMIS: a change by hand to a group the MIS sync keeps,
	// which the next sync would undo.
	ErrManagedByMIS = errors.New("the MIS sync keeps this group: change it in the MIS")
	// ErrGroupNotEmpty: removing a group that still has members, without
	// saying so on purpose.
	ErrGroupNotEmpty = errors.New("group still has members")
)

// IsManagedByMIS reports whether the MIS sync owns g, so that it is changed
// only through the sync. Every refusal of a change by hand asks this one
// function.
func IsManagedByMIS(g Group) bool { return g.Source == SourceMIS }

// GroupSnapshot is what an audit event records of a group.
type GroupSnapshot struct {
	Name        string    `json:"name"`
	Kind        GroupKind `json:"kind"`
	Source      Source    `json:"source"`
	Description string    `json:"description,omitempty"`
	GIDNumber   int64     `json:"gid_number,omitempty"`
	Members     []string  `json:"members,omitempty"`
}

func groupSnapshot(g Group, members []string) GroupSnapshot {
	return GroupSnapshot{Name: g.Name, Kind: g.Kind, Source: g.Source, Description: g.Description, GIDNumber: g.GIDNumber, Members: members}
}

// CreateGroup stores a group kept by hand (Source manual; Kind custom unless
// it says role), with its audit event. An existing name is ErrConflict.
func (d *Directory) CreateGroup(ctx context.Context, actor string, g Group) (Group, error) {
	g.ID, g.GIDNumber, g.MISID = 0, 0, ""
	g.Source = SourceManual
	if g.Kind == "" {
		g.Kind = GroupCustom
	}
	if g.Kind != GroupCustom && g.Kind != GroupRole {
		return Group{}, fmt.Errorf("group %s: a group kept by hand is of kind %s or %s, not %s", g.Name, GroupCustom, GroupRole, g.Kind)
	}
	if err := g.Validate(); err != nil {
		return Group{}, err
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionGroupCreate, audit.Target(audit.KindGroup, g.Name), nil, groupSnapshot(g, nil))
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group %s: %w", g.Name, err)
	}
	return g, nil
}

// EnsureGroups creates, in one transaction, each of the named groups that
// does not exist yet (kept by hand, with description desc), and returns the
// names it created. Groups that exist are left as they are, whoever keeps
// them.
func (d *Directory) EnsureGroups(ctx context.Context, actor string, names []string, desc string) ([]string, error) {
	var made []string
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		made = made[:0]
		for _, name := range names {
			if _, err := tx.GroupByName(ctx, name); err == nil {
				continue
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			g := Group{Name: name, Kind: GroupCustom, Source: SourceManual, Description: desc}
			if err := g.Validate(); err != nil {
				return err
			}
			if err := tx.CreateGroup(ctx, &g); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionGroupCreate, audit.Target(audit.KindGroup, g.Name), nil, groupSnapshot(g, nil)); err != nil {
				return err
			}
			made = append(made, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create groups: %w", err)
	}
	return made, nil
}

// manualGroup finds a group by name for a change by hand, refusing one the
// MIS keeps.
func manualGroup(ctx context.Context, r Reader, name string) (Group, error) {
	g, err := r.GroupByName(ctx, name)
	if err != nil {
		return Group{}, fmt.Errorf("group %s: %w", name, err)
	}
	if IsManagedByMIS(g) {
		return Group{}, fmt.Errorf("group %s: %w", name, ErrManagedByMIS)
	}
	return g, nil
}

// DeleteGroup removes a group kept by hand, with its audit event (which
// keeps its members). A group with members is refused with
// ErrGroupNotEmpty unless force is set.
func (d *Directory) DeleteGroup(ctx context.Context, actor, name string, force bool) (Group, []string, error) {
	var (
		g       Group
		members []string
	)
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if g, err = manualGroup(ctx, tx, name); err != nil {
			return err
		}
		if members, err = tx.Members(ctx, g.ID); err != nil {
			return err
		}
		if len(members) > 0 && !force {
			return fmt.Errorf("group %s: %w (%d)", name, ErrGroupNotEmpty, len(members))
		}
		if err := tx.DeleteGroup(ctx, g.ID); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionGroupDelete, audit.Target(audit.KindGroup, g.Name), groupSnapshot(g, members), nil)
	})
	if err != nil {
		return Group{}, nil, err
	}
	return g, members, nil
}

// AddMembers adds accounts by username to a group kept by hand, in one
// transaction with an audit event per member added; those already members
// are left out of the result. An unknown username aborts the lot.
func (d *Directory) AddMembers(ctx context.Context, actor, group string, usernames []string) ([]string, error) {
	return d.changeMembers(ctx, actor, group, usernames, true)
}

// RemoveMembers takes accounts by username out of a group kept by hand, as
// AddMembers adds them.
func (d *Directory) RemoveMembers(ctx context.Context, actor, group string, usernames []string) ([]string, error) {
	return d.changeMembers(ctx, actor, group, usernames, false)
}

func (d *Directory) changeMembers(ctx context.Context, actor, group string, usernames []string, add bool) ([]string, error) {
	var changed []string
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		changed = changed[:0]
		g, err := manualGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		list, err := tx.Members(ctx, g.ID)
		if err != nil {
			return err
		}
		members := make(map[string]bool, len(list))
		for _, m := range list {
			members[m] = true
		}
		for _, u := range usernames {
			a, err := tx.AccountByUsername(ctx, u)
			if err != nil {
				return fmt.Errorf("account %s: %w", u, err)
			}
			switch isMember := members[a.Username]; {
			case add && !isMember:
				err = tx.AddMember(ctx, g.ID, a.ID)
			case !add && isMember:
				err = tx.RemoveMember(ctx, g.ID, a.ID)
			default:
				continue
			}
			if err != nil {
				return err
			}
			members[a.Username] = add
			action := audit.ActionGroupAddMember
			if !add {
				action = audit.ActionGroupRemoveMember
			}
			if err := d.Record(ctx, tx, actor, action, audit.Target(audit.KindGroup, g.Name), nil, map[string]string{"member": a.Username}); err != nil {
				return err
			}
			changed = append(changed, a.Username)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}
