package directory

import (
	"context"
	"fmt"
)

// The POSIX id ranges. Each person has a group of their own (a user
// private group, as Debian makes): its gidNumber is their uidNumber and
// its name their username. People's uidNumbers, and so their own groups'
// gidNumbers, come from [FirstUID, FirstGroupGID); every other group's
// gidNumber from FirstGroupGID up. The ranges cannot meet, so a person's
// primary gid never names another group: before, both counted from 100000
// and a Year 7 pupil's `id` printed gid=100031(year-11).
const (
	FirstUID      = 100000
	FirstGroupGID = 10_000_000
)

// ValidUIDNumber reports what is wrong with a person's uidNumber.
func ValidUIDNumber(uid int64) error {
	if uid <= 0 || uid >= FirstGroupGID {
		return fmt.Errorf("uidNumber %d: people's uidNumbers are below %d, where groups' gidNumbers begin", uid, FirstGroupGID)
	}
	return nil
}

// ValidGroupGID reports what is wrong with a group's gidNumber.
func ValidGroupGID(gid int64) error {
	if gid < FirstGroupGID {
		return fmt.Errorf("gidNumber %d: groups' gidNumbers start at %d, below which each person's own group takes their uidNumber", gid, FirstGroupGID)
	}
	return nil
}

// CheckPrimaryGroups reads every account and group and reports, one line
// each, a person whose primary gid is not their own group's (their uid),
// or names a stored group, and a group whose gid lies in the people's
// range. None means that no person's primary gid names another group.
func CheckPrimaryGroups(ctx context.Context, r Reader) ([]string, error) {
	var problems []string
	gids := map[int64]string{}
	gs, err := r.ListGroups(ctx, GroupQuery{})
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		gids[g.GIDNumber] = g.Name
		if err := ValidGroupGID(g.GIDNumber); err != nil {
			problems = append(problems, "group "+g.Name+": "+err.Error())
		}
	}
	q := AccountQuery{Limit: 5000}
	for {
		page, err := r.ListAccounts(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if a.Role == RoleService {
				continue // not a POSIX account
			}
			switch {
			case a.GIDNumber != a.UIDNumber:
				problems = append(problems, fmt.Sprintf("%s: gid %d is not their uid %d", a.Username, a.GIDNumber, a.UIDNumber))
			case gids[a.GIDNumber] != "":
				problems = append(problems, fmt.Sprintf("%s: primary gid %d names group %s", a.Username, a.GIDNumber, gids[a.GIDNumber]))
			}
			if err := ValidUIDNumber(a.UIDNumber); err != nil {
				problems = append(problems, a.Username+": "+err.Error())
			}
		}
		if len(page) < q.Limit {
			return problems, nil
		}
		q.AfterID = page[len(page)-1].ID
	}
}
