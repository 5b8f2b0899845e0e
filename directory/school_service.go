package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"keystage.dev/keystage/audit"
)

// Schools are the trust's schools; none for a single school.
func (d *Directory) Schools() []School { return slices.Clone(d.schools) }

// SchoolName is what people see for a school id; "" for the trust and for
// an id that is not configured.
func (d *Directory) SchoolName(id string) string {
	for _, s := range d.schools {
		if s.ID == id {
			return s.Name
		}
	}
	return ""
}

// CheckSchool accepts "" (the trust, or a single school) and the ids of
// the configured schools.
func (d *Directory) CheckSchool(id string) error {
	if id == "" {
		return nil
	}
	ids := make([]string, len(d.schools))
	for i, s := range d.schools {
		if s.ID == id {
			return nil
		}
		ids[i] = s.ID
	}
	if len(ids) == 0 {
		return invalid("school %q: no schools are configured ([[schools]] in the configuration)", id)
	}
	return invalid("school %q: not one of the trust's schools (%s)", id, strings.Join(ids, ", "))
}

// SchoolGroupName is a school's own name for an MIS group (its year,
// registration and class groups): the school's id before the name, so that
// two schools' 7A stay two groups. The role groups (staff, pupils) and the
// groups of a single school keep their names.
func SchoolGroupName(school, name string) string {
	if school == "" || RoleGroupName(name) {
		return name
	}
	return school + "-" + name
}

// TransferAccount moves an account to another of the trust's schools (to
// "": the trust's own staff), keeping it: its username, history,
// credentials, passkeys and signatures stay. Its MIS groups of the old
// school (named by SchoolGroupName) are left; its year group and the
// school's role group (south-pupils) are found again at the new school
// when that school has them; the new school's sync gives the rest. The old school's AUP documents no longer apply, so the
// gate asks for the new school's (see DocumentsFor). The new school drops
// out of the dual registrations. One transaction with its events.
func (d *Directory) TransferAccount(ctx context.Context, actor, username, to string) (Account, error) {
	if err := d.CheckSchool(to); err != nil {
		return Account{}, fmt.Errorf("transfer %s: %w", username, err)
	}
	var out Account
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		old, err := tx.AccountByUsername(ctx, username)
		if err != nil {
			return err
		}
		if old.School == to {
			return fmt.Errorf("transfer %s: %w", username, invalid("%s is already at %s", username, schoolOrTrust(to)))
		}
		out, err = tx.UpdateAccount(ctx, old.ID, func(a *Account) error {
			a.School = to
			a.AlsoSchools = slices.DeleteFunc(slices.Clone(a.AlsoSchools), func(s string) bool { return s == to })
			return nil
		})
		if err != nil {
			return err
		}
		if err := d.Record(ctx, tx, actor, audit.ActionAccountTransfer, audit.AccountTarget(username),
			old.Snapshot(), out.Snapshot()); err != nil {
			return err
		}
		groups, err := tx.GroupsOf(ctx, old.ID)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.Source != SourceMIS || old.School == "" || !strings.HasPrefix(g.Name, old.School+"-") {
				continue
			}
			if err := tx.RemoveMember(ctx, g.ID, old.ID); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionGroupRemoveMember, audit.Target(audit.KindGroup, g.Name), nil,
				map[string]string{"member": username, "why": "transfer to " + schoolOrTrust(to)}); err != nil {
				return err
			}
			if (g.Kind != GroupYear && g.Kind != GroupRole) || to == "" {
				continue
			}
			// The same year (or the school's role group: north-pupils) at
			// the new school, when its sync has made it.
			ng, err := tx.GroupByName(ctx, to+"-"+strings.TrimPrefix(g.Name, old.School+"-"))
			if err != nil {
				continue
			}
			if err := tx.AddMember(ctx, ng.ID, old.ID); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionGroupAddMember, audit.Target(audit.KindGroup, ng.Name), nil,
				map[string]string{"member": username, "why": "transfer from " + schoolOrTrust(old.School)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return out, nil
}

// SetAlsoSchools sets the other schools an account is on the roll of
// (dual registration): one account, in each school's scope. Its own school
// stays the one whose AUP it signs.
func (d *Directory) SetAlsoSchools(ctx context.Context, actor, username string, also []string) (Account, error) {
	for _, id := range also {
		if id == "" {
			return Account{}, fmt.Errorf("dual registration of %s: %w", username, invalid("an empty school id"))
		}
		if err := d.CheckSchool(id); err != nil {
			return Account{}, fmt.Errorf("dual registration of %s: %w", username, err)
		}
	}
	var out Account
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		old, err := tx.AccountByUsername(ctx, username)
		if err != nil {
			return err
		}
		if slices.Contains(also, old.School) {
			return fmt.Errorf("dual registration of %s: %w", username, invalid("%s is %s's own school", old.School, username))
		}
		out, err = tx.UpdateAccount(ctx, old.ID, func(a *Account) error {
			a.AlsoSchools = ParseSchools(FormatSchools(also))
			return nil
		})
		if err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionAccountSchools, audit.AccountTarget(username), old.Snapshot(), out.Snapshot())
	})
	return out, err
}

func schoolOrTrust(id string) string {
	if id == "" {
		return "the trust"
	}
	return "school " + id
}
