package main

import (
	"errors"
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

// accountDisable disables one account by hand: a leaver who goes mid-term,
// before the MIS says so. The gate then refuses it everywhere; on
// PostgreSQL every node hears of it (see docs/several-nodes.md).
func accountDisable(e *env, args []string) error {
	fs := e.newFlags("account disable", "NAME --reason TEXT")
	reason := fs.String("reason", "", "why, for the audit trail (say \"left\" for a leaver)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("--reason is needed: it is kept in the audit trail")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	// This process's hooks (none outside serve); the servers hear of it
	// through the database.
	a, already, err := e.directory(s).Disable(e.ctx, e.actor(), pos[0], *reason)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no account %q (try keystage account list --search %s)", pos[0], pos[0])
	}
	if err != nil {
		return err
	}
	if already {
		fmt.Fprintf(e.stdout, "%s was already disabled (%s); nothing changed\n", a.Username, terminal.Safe(a.DisableReason))
		return nil
	}
	fmt.Fprintf(e.stdout, "disabled %s: refused by LDAP, RADIUS and the portal from now on\n", a.Username)
	return nil
}
