package main

import (
	"errors"
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

// accountEnable re-enables a disabled account, with a reason for the
// trail. Someone the MIS still has as a leaver is refused unless forced:
// the next MIS sync would disable them again, and the school's record
// should change first.
func accountEnable(e *env, args []string) error {
	fs := e.newFlags("account enable", "NAME --reason TEXT [--force]")
	reason := fs.String("reason", "", "why, for the audit trail")
	force := fs.Bool("force", false, "enable even though the MIS has the person as a leaver (their leave date is cleared)")
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
	a, already, err := e.directory(s).Enable(e.ctx, e.actor(), pos[0], *reason, *force)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return fmt.Errorf("no account %q (try keystage account list --search %s)", pos[0], pos[0])
	case errors.Is(err, directory.ErrStillLeaver):
		return fmt.Errorf("not enabled: the MIS still has %s as a leaver (leave date %s), so the next sync would end the account again. "+
			"Correct the leave date in the MIS first, or run again with --force to enable it now", a.Username, a.LeaveDate.Format("2006-01-02"))
	case err != nil:
		return err
	}
	if already {
		fmt.Fprintf(e.stdout, "%s is not disabled; nothing changed\n", a.Username)
		return nil
	}
	if *force {
		fmt.Fprintf(e.stdout, "enabled %s although the MIS has them as a leaver: the leave date is cleared, but the next MIS sync sets it again unless the MIS changes\n", a.Username)
		return nil
	}
	fmt.Fprintf(e.stdout, "enabled %s: LDAP, RADIUS and the portal let them in again (if they have a password: keystage password reset %s gives a new one)\n", a.Username, a.Username)
	return nil
}
