package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/private"
)

// keystage demo --trust: the demo school becomes Northgate Academy, one of
// a trust of two, beside Southfield School, whose people come from its own
// MIS export by its own sync. Each school has its own AUP: Northgate's new
// version is offered at its people's next portal visit (their signatures
// of the trust's first version still count), Southfield's people must
// sign Southfield's before the network lets them in. Northgate's
// technician acts on Northgate's people only; the auditor is the trust's.

const (
	demoSouthExport = "southfield-export"
	demoSouthPupil  = "SF-P0000001" // the first Southfield pupil, given the pupil password
	demoConfigFile  = "keystage.toml"
)

// demoTrustSchools are the demo trust's schools.
func demoTrustSchools(dir string) []SchoolSection {
	return []SchoolSection{
		{ID: "north", Name: "Northgate Academy", OrgIDs: []string{"org-school"}},
		{ID: "south", Name: "Southfield School", Source: "oneroster:" + filepath.Join(dir, demoSouthExport)},
	}
}

// demoTrust sets the configuration up as a trust and writes the file the
// commands beside the demo read (--config DIR/keystage.toml), so that they
// know the schools too.
func demoTrust(cfg *Config, dir string) error {
	cfg.School = "Keystage Demo Trust"
	cfg.Schools = demoTrustSchools(dir)
	text := fmt.Sprintf("# Written by keystage demo --trust: the trust's schools, for the commands run beside it.\ndata_dir = %q\nschool = %q\n", dir, cfg.School)
	for _, s := range cfg.Schools {
		text += fmt.Sprintf("\n[[schools]]\nid = %q\nname = %q\n", s.ID, s.Name)
		if len(s.OrgIDs) > 0 {
			text += fmt.Sprintf("org_ids = [%q]\n", s.OrgIDs[0])
		}
		if s.Source != "" {
			text += fmt.Sprintf("source = %q\n", s.Source)
		}
	}
	text += fmt.Sprintf("\n[sync]\nsource = %q\n", cfg.Sync.Source)
	if err := private.WriteFile(filepath.Join(dir, demoConfigFile), []byte(text)); err != nil {
		return err
	}
	path := filepath.Join(dir, demoSouthExport)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	people := schoolgen.People(schoolgen.Spec{Seed: 77, Staff: 6, Pupils: 60, Years: []string{"7", "8"}, FormsPerYear: 1, IntakeYear: 2026})
	for i := range people {
		people[i].MISID = "SF-" + people[i].MISID // another school's MIS numbers its people afresh
	}
	now := time.Now()
	return exportgen.WriteOneRoster(path, people, exportgen.Options{Modified: now.Add(-time.Hour)})
}

// seedDemoTrust makes the seeded demo school Northgate, syncs Southfield
// from its export, and publishes each school's AUP.
func seedDemoTrust(e *env, d *directory.Directory, cfg *Config) error {
	ctx := e.ctx
	st := d.Store()
	// Northgate: every seeded person but the trust's auditor.
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		auditor, err := tx.AccountByMISID(ctx, demoAuditorMIS)
		if err != nil {
			return err
		}
		q := directory.AccountQuery{Limit: 1000}
		for {
			page, err := tx.ListAccounts(ctx, q)
			if err != nil {
				return err
			}
			for _, a := range page {
				if a.ID == auditor.ID || a.Role == directory.RoleService {
					continue
				}
				if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { x.School = "north"; return nil }); err != nil {
					return err
				}
			}
			if len(page) < q.Limit {
				break
			}
			q.AfterID = page[len(page)-1].ID
		}
		// Its MIS groups take the school's names (north-7a), as its sync names them.
		gs, err := tx.ListGroups(ctx, directory.GroupQuery{Source: directory.SourceMIS})
		if err != nil {
			return err
		}
		for _, g := range gs {
			if name := directory.SchoolGroupName("north", g.Name); name != g.Name {
				if _, err := tx.UpdateGroup(ctx, g.ID, func(x *directory.Group) error { x.Name = name; return nil }); err != nil {
					return err
				}
				continue
			}
			// The school's own role group beside the trust's (north-pupils).
			sg := directory.Group{Name: "north-" + g.Name, Kind: g.Kind, Source: directory.SourceMIS, Description: g.Description + " (north)"}
			if err := tx.CreateGroup(ctx, &sg); err != nil {
				return err
			}
			members, err := tx.Members(ctx, g.ID)
			if err != nil {
				return err
			}
			for _, m := range members {
				a, err := tx.AccountByUsername(ctx, m)
				if err != nil {
					return err
				}
				if err := tx.AddMember(ctx, sg.ID, a.ID); err != nil {
					return err
				}
			}
		}
		return d.Record(ctx, tx, "demo", audit.ActionAccountTransfer, "school:north", nil, map[string]string{"school": "north", "why": "the demo school is Northgate Academy"})
	}); err != nil {
		return err
	}
	// Southfield: from its own export, by its own sync.
	src, err := lifecycle.Open("oneroster:"+filepath.Join(e.demoDir, demoSouthExport), cfg.Sync.readOptions(cfg.Location()))
	if err != nil {
		return err
	}
	exp, err := src.Read(ctx)
	if err != nil {
		return err
	}
	eng := newEngine(d, cfg)
	p, err := eng.PlanSync(ctx, exp, lifecycle.SyncOptions{School: "south"})
	if err != nil {
		return err
	}
	if _, err := eng.Apply(ctx, p, "demo"); err != nil {
		return err
	}
	sp, err := st.AccountByMISID(ctx, demoSouthPupil)
	if err != nil {
		return err
	}
	if err := d.SetPassword(ctx, "demo", sp, demoPupilPassword); err != nil {
		return err
	}
	for _, doc := range []directory.AUPDocument{
		{School: "north", Audience: "staff", Version: "north-2026.2", Text: "# Northgate Academy: staff AUP\n\nI keep my password to myself, lock my screen when I leave it, and report concerns to the Northgate DSL the same day."},
		{School: "north", Audience: "pupil", Version: "north-2026.2", Text: "# Northgate Academy: pupil AUP\n\nPhones stay in bags in lessons. I am kind online. Breaking this means a week without the Wi-Fi."},
		{School: "south", Audience: "staff", Version: "south-2026.1", Text: "# Southfield School: staff AUP\n\nSchool devices are for school work. Personal devices join the guest network only."},
		{School: "south", Audience: "pupil", Version: "south-2026.1", Text: "# Southfield School: pupil AUP\n\nI use the network for learning. I never share my password. Misuse is reported to my Head of Year."},
		{School: "south", Audience: "parent-permission", Version: "south-2026.1", Text: "# Southfield School: parental permission\n\nI give permission for my child to use Southfield's network, filtered and monitored."},
	} {
		if _, err := d.PublishAUP(ctx, "demo", doc); err != nil {
			return err
		}
	}
	return nil
}

// printDemoTrustHints adds the trust's lines to the demo's hints.
func printDemoTrustHints(e *env, dir string) {
	tech, south := "(see account list)", "(see account list --school south)"
	s, err := e.openStore(true)
	if err == nil {
		defer s.Close()
		if a, err := s.AccountByMISID(e.ctx, demoTechnicianMIS); err == nil {
			tech = a.Username
		}
		if a, err := s.AccountByMISID(e.ctx, demoSouthPupil); err == nil {
			south = a.Username
		}
	}
	conf := filepath.Join(dir, demoConfigFile)
	fmt.Fprintf(e.stdout, `A trust of two schools (--trust): Northgate Academy (the school above) and Southfield School.
  Southfield pupil  %-14s password %s (must sign Southfield's AUP in the portal first)
  Each school's AUP:  go run ./cmd/keystage --config %s aup list
  Southfield's people: go run ./cmd/keystage --config %s account list --school south
  Northgate's technician refused on a Southfield pupil, and the refusal audited:
    go run ./cmd/keystage --config %s --as %s account show %s
  Each school synced on its own: go run ./cmd/keystage --config %s sync
  docs/trusts.md says more.
`, south, demoPupilPassword, conf, conf, conf, tech, south, conf)
}
