package schoolgen

import (
	"context"
	"fmt"
	"strings"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// SeedOptions says what else to store with the people.
type SeedOptions struct {
	// PasswordHash, when set, is stored as every account's login password
	// (hashing hundreds of thousands of passwords would dominate a
	// benchmark's set-up; the demo hashes per role).
	PasswordHash func(p Person) string
	// WiFi, when set, gives the sealed Wi-Fi credential of a person.
	WiFi func(p Person) (sealed, keyID string, err error)
	// Batch is how many people go in one transaction (default 2000).
	Batch int
	// Actor names the seeder in the audit trail.
	Actor string
	// Progress, when set, is told how many people are stored so far.
	Progress func(done, total int)
}

// Username is the demo rule: staff are initial + family name (jsmith);
// pupils are the two-digit year they started, initial and family name
// (26jsmith). A clash gets 2, 3, … appended.
func Username(p Person) string {
	base := lifecycle.Fold(p.FamilyName)
	if base == "" {
		base = "user"
	}
	ini := lifecycle.Fold(p.GivenName)
	if ini != "" {
		base = ini[:1] + base
	}
	if !p.Staff {
		base = fmt.Sprintf("%02d%s", p.StartDate.Year()%100, base)
	}
	if len(base) > 20 {
		base = base[:20]
	}
	return base
}

// Seed stores a school: role, year, registration and class groups; one
// account per person with its memberships; each change with its audit event.
func Seed(ctx context.Context, s directory.Store, people []Person, opt SeedOptions) ([]directory.Account, error) {
	if opt.Batch <= 0 {
		opt.Batch = 2000
	}
	if opt.Actor == "" {
		opt.Actor = "seed"
	}
	groups := map[string]int64{}
	groupOf := func(ctx context.Context, tx directory.Tx, name string, kind directory.GroupKind, desc string) (int64, error) {
		name = strings.ToLower(name)
		if id, ok := groups[name]; ok {
			return id, nil
		}
		g, err := tx.GroupByName(ctx, name)
		if err == nil {
			groups[name] = g.ID
			return g.ID, nil
		}
		g = directory.Group{Name: name, Kind: kind, Source: directory.SourceMIS, Description: desc}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return 0, err
		}
		if err := tx.Record(ctx, &audit.Event{Actor: opt.Actor, Action: audit.ActionGroupCreate, Target: audit.Target(audit.KindGroup, g.Name),
			After: audit.Snapshot(map[string]any{"name": g.Name, "kind": g.Kind, "gid_number": g.GIDNumber})}); err != nil {
			return 0, err
		}
		groups[name] = g.ID
		return g.ID, nil
	}
	taken := map[string]bool{}
	out := make([]directory.Account, 0, len(people))
	for start := 0; start < len(people); start += opt.Batch {
		end := min(start+opt.Batch, len(people))
		var batch []directory.Account
		err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			batch = batch[:0]
			for _, p := range people[start:end] {
				a := directory.Account{
					Role: directory.RolePupil, Source: directory.SourceMIS, MISID: p.MISID,
					GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email,
					YearGroup: p.YearGroup, RegGroup: p.RegGroup, StartDate: p.StartDate,
				}
				if p.Staff {
					a.Role = directory.RoleStaff
				}
				base := Username(p)
				a.Username = base
				for n := 2; taken[a.Username]; n++ {
					a.Username = fmt.Sprintf("%s%d", base, n)
				}
				taken[a.Username] = true
				if err := tx.CreateAccount(ctx, &a); err != nil {
					return err
				}
				if err := tx.Record(ctx, &audit.Event{Actor: opt.Actor, Action: audit.ActionAccountCreate, Target: audit.AccountTarget(a.Username),
					After: audit.Snapshot(a.Snapshot())}); err != nil {
					return err
				}
				var memberships []membership
				if p.Staff {
					memberships = append(memberships, membership{"staff", directory.GroupRole, "All staff"})
				} else {
					memberships = append(memberships,
						membership{"pupils", directory.GroupRole, "All pupils"},
						membership{"year-" + strings.ToLower(p.YearGroup), directory.GroupYear, "Year " + p.YearGroup},
						membership{p.RegGroup, directory.GroupReg, "Registration group " + p.RegGroup})
					for _, c := range p.Classes {
						memberships = append(memberships, membership{c, directory.GroupClass, "Class " + c})
					}
				}
				for _, m := range memberships {
					gid, err := groupOf(ctx, tx, m.name, m.kind, m.desc)
					if err != nil {
						return err
					}
					if err := tx.AddMember(ctx, gid, a.ID); err != nil {
						return err
					}
				}
				if opt.PasswordHash != nil {
					if h := opt.PasswordHash(p); h != "" {
						if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: h}); err != nil {
							return err
						}
					}
				}
				if opt.WiFi != nil {
					sealed, keyID, err := opt.WiFi(p)
					if err != nil {
						return err
					}
					if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredWiFi, Secret: sealed, KeyID: keyID}); err != nil {
						return err
					}
				}
				batch = append(batch, a)
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("seed people %d to %d: %w", start+1, end, err)
		}
		out = append(out, batch...)
		if opt.Progress != nil {
			opt.Progress(end, len(people))
		}
	}
	return out, nil
}

// membership is a group a seeded person joins, made on first use.
type membership struct {
	name string
	kind directory.GroupKind
	desc string
}
