package main

import (
	"errors"
	"fmt"
	"slices"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

func cmdHold(e *env, args []string) error {
	return dispatch(e, "hold", "hold set NAME --kind K --reason TEXT [--ref REF] | lift NAME --note TEXT | show NAME | list", args,
		sub{"set", cmdHoldSet}, sub{"lift", cmdHoldLift}, sub{"show", cmdHoldShow}, sub{"list", cmdHoldList})
}

// holdRolesNote says who may use the hold commands, after a refusal.
const holdRolesNote = "legal holds are for the safeguarding and data-protection roles: run this as a member of one of their groups (--as NAME, or KEYSTAGE_ACTOR, names your account)"

func cmdHoldSet(e *env, args []string) error {
	fs := e.newFlags("hold set", "NAME --kind safeguarding|subject-access|other --reason TEXT [--ref REF]")
	kind := fs.String("kind", "", "why records are kept: safeguarding (a case is open), subject-access (a request is being answered) or other")
	reason := fs.String("reason", "", "the case or request the hold keeps records for")
	ref := fs.String("ref", "", "its reference")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *kind == "" || *reason == "" {
		return usagef("want one username, --kind and --reason")
	}
	s, a, done, err := e.openAccountForChange("set a legal hold", pos[0])
	if err != nil {
		return err
	}
	defer done()
	roles, err := e.actorRoles(e.ctx, s)
	if err != nil {
		return err
	}
	h, err := e.directory(s).SetLegalHold(e.ctx, e.actor(), roles, a, directory.LegalHold{Kind: directory.LegalHoldKind(*kind), Reason: *reason, Reference: *ref})
	if errors.Is(err, directory.ErrRoleRequired) {
		return fmt.Errorf("%w (%s)", err, holdRolesNote)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "legal hold %d on %s (%s): nothing purges their records until it is lifted\n", h.ID, a.Username, h.Kind)
	return nil
}

func cmdHoldLift(e *env, args []string) error {
	fs := e.newFlags("hold lift", "NAME --note TEXT")
	note := fs.String("note", "", "why the hold ends (the case closed, the request answered)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *note == "" {
		return usagef("want one username and --note")
	}
	s, a, done, err := e.openAccountForChange("lift a legal hold", pos[0])
	if err != nil {
		return err
	}
	defer done()
	roles, err := e.actorRoles(e.ctx, s)
	if err != nil {
		return err
	}
	lifted, err := e.directory(s).LiftLegalHolds(e.ctx, e.actor(), roles, a, *note)
	if errors.Is(err, directory.ErrRoleRequired) {
		return fmt.Errorf("%w (%s)", err, holdRolesNote)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lifted %d legal hold(s) on %s\n", len(lifted), a.Username)
	return nil
}

// holdReader opens the store to read holds, for the roles that may.
func (e *env) holdReader() (directory.Store, func(), error) {
	s, err := e.openStore(true)
	if err != nil {
		return nil, nil, err
	}
	roles, err := e.actorRoles(e.ctx, s)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if !slices.Contains(roles, directory.StaffRoleSafeguarding) && !slices.Contains(roles, directory.StaffRoleDataProtection) {
		s.Close()
		return nil, nil, fmt.Errorf("legal holds: %w (%s)", directory.ErrRoleRequired, holdRolesNote)
	}
	return s, func() { s.Close() }, nil
}

func cmdHoldShow(e *env, args []string) error {
	fs := e.newFlags("hold show", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, done, err := e.holdReader()
	if err != nil {
		return err
	}
	defer done()
	a, err := findAccount(e.ctx, s, pos[0])
	if err != nil {
		return err
	}
	hs, err := s.LegalHolds(e.ctx, a.ID)
	if err != nil {
		return err
	}
	if len(hs) == 0 {
		fmt.Fprintf(e.stdout, "%s: no legal hold\n", a.Username)
	}
	for _, h := range hs {
		printHold(e, a.Username, h)
	}
	return nil
}

func cmdHoldList(e *env, args []string) error {
	fs := e.newFlags("hold list", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	s, done, err := e.holdReader()
	if err != nil {
		return err
	}
	defer done()
	hs, err := s.OpenLegalHolds(e.ctx)
	if err != nil {
		return err
	}
	for _, h := range hs {
		a, err := s.Account(e.ctx, h.AccountID)
		if err != nil {
			return err
		}
		printHold(e, a.Username, h)
	}
	fmt.Fprintf(e.stderr, "%d open legal hold(s)\n", len(hs))
	return nil
}

func printHold(e *env, username string, h directory.LegalHold) {
	state := "open"
	if !h.Open() {
		state = "lifted " + h.LiftedAt.Format("2006-01-02 15:04") + " by " + h.LiftedBy + ": " + h.LiftNote
	}
	ref := ""
	if h.Reference != "" {
		ref = " (ref " + h.Reference + ")"
	}
	fmt.Fprintf(e.stdout, "%s\thold %d\t%s\tset %s by %s\t%s%s\t%s\n", username, h.ID, h.Kind, h.SetAt.Format("2006-01-02 15:04"), h.SetBy,
		terminal.Safe(h.Reason), terminal.Safe(ref), terminal.Safe(state))
}
