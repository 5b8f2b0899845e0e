package ldapserver

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

// ownGroup is a person's own group (a user private group, as Debian makes
// them): cn is their username and gidNumber their uidNumber, which is also
// their primary gidNumber, so that `id` names a group that is theirs. It
// holds no rows of its own; it is published from the account. A group kept
// in the store under the same name hides it (the MIS sync refuses to make
// one, so only a group made by hand before this could).
func ownGroup(a directory.Account) directory.Group {
	return directory.Group{ID: a.ID, Name: a.Username, GIDNumber: a.UIDNumber,
		Description: "Own group of " + a.Username}
}

// hasOwnGroup reports whether an account is published with a group of its
// own: people are; service accounts, which are not POSIX accounts, are not.
func hasOwnGroup(a directory.Account) bool {
	return a.Role != directory.RoleService && a.UIDNumber > 0
}

// groupVisibility is which groups a searcher may read: a person their own
// groups (those they are in, and their own group); a service account what
// its grant says, and nothing more.
type groupVisibility int

const (
	seeNoGroups groupVisibility = iota
	seeOwnGroups
	seeAllGroups
)

func (s *search) groupVisibility() groupVisibility {
	switch {
	case s.who.anonymous():
		return seeNoGroups
	case !s.who.service():
		return seeOwnGroups
	case s.c.s.cfg.Grants[s.who.account.Username].Groups:
		return seeAllGroups
	}
	return seeNoGroups
}

// ownGroups sends the matching people's own groups, ordered by account id.
func (s *search) ownGroups(ctx context.Context, container []string, after int64) error {
	ok, only := s.containerReachable(container)
	if !ok {
		return nil
	}
	st := s.c.s.store
	var planned []directory.Account
	isPlanned := true
	one := func(a directory.Account, err error) error {
		if err == nil {
			planned = append(planned, a)
		} else if !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		return nil
	}
	switch {
	case s.groupVisibility() != seeAllGroups:
		if s.who.anonymous() || s.who.service() {
			return nil
		}
		if err := one(st.Account(ctx, s.who.account.ID)); err != nil {
			return err
		}
	case only != "":
		if err := one(st.AccountByUsername(ctx, only)); err != nil {
			return err
		}
	default:
		var err error
		if planned, isPlanned, err = s.planOwnGroups(ctx, s.req.filter); err != nil {
			return err
		}
	}
	if isPlanned {
		slices.SortFunc(planned, func(a, b directory.Account) int { return cmpInt(a.ID, b.ID) })
		planned = slices.CompactFunc(planned, func(a, b directory.Account) bool { return a.ID == b.ID })
		for _, a := range planned {
			if a.ID <= after || (only != "" && a.Username != only) || !hasOwnGroup(a) {
				continue
			}
			if _, err := st.GroupByName(ctx, a.Username); err == nil {
				continue // hidden by a stored group of the same name
			} else if !errors.Is(err, directory.ErrNotFound) {
				return err
			}
			if err := s.sendOwnGroup(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
	// A scan (getent group): the stored groups' names, read once, say
	// which own groups they hide.
	hidden := map[string]bool{}
	gq := directory.GroupQuery{Limit: scanBatch}
	for {
		batch, err := st.ListGroups(ctx, gq)
		if err != nil {
			return err
		}
		for _, g := range batch {
			hidden[g.Name] = true
		}
		if len(batch) < scanBatch {
			break
		}
		gq.AfterID = batch[len(batch)-1].ID
	}
	q := directory.AccountQuery{AfterID: after, Limit: scanBatch}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := st.ListAccounts(ctx, q)
		if err != nil {
			return err
		}
		for _, a := range batch {
			if !hasOwnGroup(a) || hidden[a.Username] {
				continue
			}
			if err := s.sendOwnGroup(ctx, a); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
		q.AfterID = batch[len(batch)-1].ID
	}
}

func (s *search) sendOwnGroup(ctx context.Context, a directory.Account) error {
	s.next = cursor{srcOwnGroups, a.ID}
	return s.sendIf(ctx, s.c.s.tree.groupEntryFor(ownGroup(a), nil, true, s.need))
}

// planOwnGroups finds the accounts whose own groups an indexed filter
// names: by cn (the username) or by gidNumber (the uidNumber, below the
// groups' range). An own group has no members, so memberUid and member
// find none.
func (s *search) planOwnGroups(ctx context.Context, f *ber.Packet) ([]directory.Account, bool, error) {
	st := s.c.s.store
	return planFilter(ctx, f, nil, func(attr, v string) ([]directory.Account, bool, error) {
		switch attr {
		case "objectclass":
			if !inLower(groupClasses, v) {
				return nil, true, nil
			}
		case "cn", "commonname":
			n := strings.ToLower(strings.TrimSpace(v))
			if directory.ValidUsername(n) != nil {
				return nil, true, nil
			}
			return found(st.AccountByUsername(ctx, n))
		case "gidnumber":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || directory.ValidUIDNumber(n) != nil {
				return nil, true, nil
			}
			return found(st.AccountByUID(ctx, n))
		case "memberuid", "member":
			return nil, true, nil
		}
		return nil, false, nil
	})
}

// mayRead reports whether the searcher may read the entry at base, a
// person or service (uid=) or a group (cn=) directly below a container:
// a search based at an entry the searcher may not read answers as if it
// did not exist, so that a pupil cannot learn who is in the directory.
func (s *search) mayRead(ctx context.Context, container, name string) (bool, error) {
	me := s.who.account
	g := s.c.s.cfg.Grants[me.Username]
	switch container {
	case "ou=people":
		return (me.Username == name && !s.who.service()) || (s.who.service() && g.People), nil
	case "ou=services":
		return (me.Username == name && s.who.service()) || (s.who.service() && g.Services), nil
	case "ou=groups":
		switch s.groupVisibility() {
		case seeAllGroups:
			return true, nil
		case seeNoGroups:
			return false, nil
		}
		if me.Username == name {
			return true, nil // their own group
		}
		gs, err := s.c.s.store.GroupsOf(ctx, me.ID)
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(gs, func(g directory.Group) bool { return g.Name == name }), nil
	}
	return false, nil
}
