package lifecycle

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Orgs is what a OneRoster export says of its organisations: which orgs
// each person belongs to (users.csv orgSourcedIds in 1.1, its
// primaryOrgSourcedId and roles.csv orgSourcedId in 1.2) and each org's
// parent (orgs.csv parentSourcedId), so that a trust-wide export can be
// split by school even when people name a department of the school.
type Orgs struct {
	// Users maps a person's MIS id to the orgs they belong to.
	Users map[string][]string
	// Parents maps an org to its parent org.
	Parents map[string]string
	// Known are the orgs orgs.csv lists.
	Known map[string]bool
}

// readOneRosterOrgs reads the orgs of every person and the org tree; a
// second pass over users.csv, made only for a trust (ReadOptions.Orgs).
func readOneRosterOrgs(ctx context.Context, fsys fs.FS, m manifest) (*Orgs, error) {
	o := &Orgs{Users: map[string][]string{}, Parents: map[string]string{}, Known: map[string]bool{}}
	add := func(user, orgs string) {
		for _, org := range strings.Split(orgs, ",") {
			if org = strings.TrimSpace(org); org != "" && !slices.Contains(o.Users[user], org) {
				o.Users[strings.Clone(user)] = append(o.Users[user], strings.Clone(org))
			}
		}
	}
	if t, ok, err := openListed(fsys, m, "orgs"); err != nil {
		return nil, err
	} else if ok {
		defer t.close()
		if err := requireCols(t, []string{"sourcedId"}); err != nil {
			return nil, err
		}
		ic, pc := t.col("sourcedId"), t.col("parentSourcedId")
		if err := t.each(ctx, nil, func(row []string, _ int) error {
			if id := field(row, ic); id != "" {
				o.Known[strings.Clone(id)] = true
				if p := field(row, pc); p != "" {
					o.Parents[strings.Clone(id)] = strings.Clone(p)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	t, ok, err := openListed(fsys, m, "users")
	if err != nil || !ok {
		return o, err
	}
	defer t.close()
	ic, oc := t.col("sourcedId"), t.col("orgSourcedIds", "primaryOrgSourcedId")
	if err := t.each(ctx, nil, func(row []string, _ int) error {
		if id := field(row, ic); id != "" {
			add(id, field(row, oc))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if m.version == "1.2" {
		if t, ok, err := openListed(fsys, m, "roles"); err != nil {
			return nil, err
		} else if ok {
			defer t.close()
			uc, oc := t.col("userSourcedId"), t.col("orgSourcedId")
			if err := t.each(ctx, nil, func(row []string, _ int) error {
				if id := field(row, uc); id != "" {
					add(id, field(row, oc))
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// within reports whether org is one of orgs or lies under one of them in
// the org tree (a department of a school).
func (o *Orgs) within(org string, orgs []string) bool {
	for range 16 { // deeper than any trust's tree; a loop in a bad export ends
		if slices.Contains(orgs, org) {
			return true
		}
		p, ok := o.Parents[org]
		if !ok || p == org {
			return false
		}
		org = p
	}
	return false
}

// SplitByOrg is the part of a trust-wide export that is one school's: the
// people who belong to one of its orgs (or to an org under one), and the
// refused rows of those people. Its Source names the school, so that each
// school keeps its own watermark, refusal queue and last run. A school with
// no one in the export (its part missing, or the export late) is an error,
// never a school whose people all left.
func SplitByOrg(exp *Export, school string, orgs []string) (*Export, error) {
	if exp.Orgs == nil {
		return nil, fmt.Errorf("school %s: %w: the export was read without its orgs (only a OneRoster export is split by org)", school, ErrBadExport)
	}
	if len(orgs) == 0 {
		return nil, fmt.Errorf("school %s: %w: no org_ids are configured for it: name its OneRoster orgs in [[schools]]", school, ErrBadMapping)
	}
	part := &Export{Source: exp.Source + "#" + school, Delta: exp.Delta, ClassesPartial: exp.ClassesPartial, Orgs: exp.Orgs}
	ours := func(id string) bool {
		for _, org := range exp.Orgs.Users[id] {
			if exp.Orgs.within(org, orgs) {
				return true
			}
		}
		return false
	}
	for _, r := range exp.Records {
		if ours(r.MISID) {
			part.Records = append(part.Records, r)
		}
	}
	for _, x := range exp.Refused {
		if x.MISID != "" && ours(x.MISID) {
			part.Refused = append(part.Refused, x)
		}
	}
	part.Rows = len(part.Records) + len(part.Refused)
	if part.Rows == 0 && !exp.Delta {
		listed := false
		for _, org := range orgs {
			listed = listed || exp.Orgs.Known[org]
		}
		why := "none of its orgs (" + strings.Join(orgs, ", ") + ") is in orgs.csv"
		if listed {
			why = "its orgs are listed but no one belongs to them"
		}
		return nil, fmt.Errorf("school %s: %w: the export holds no one of the school (%s): its export is missing or late; nothing at %s changes until it comes",
			school, ErrBadExport, why, school)
	}
	return part, nil
}
