package directory

import "fmt"

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
