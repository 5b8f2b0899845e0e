package main

import (
	"errors"
	"fmt"

	"keystage.dev/keystage/directory"
)

// accountLegalName withholds a person's legal name from the register and
// the subject access export (an adopted or looked-after child), or shows
// it again. The change is audited.
func accountLegalName(e *env, args []string) error {
	fs := e.newFlags("account legal-name", "NAME --withhold|--show")
	withhold := fs.Bool("withhold", false, "show the preferred name only, in the register and the subject access export")
	show := fs.Bool("show", false, "show the legal name again where it is needed")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	if *withhold == *show {
		return usagef("say --withhold or --show")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	a, changed, err := e.directory(s).SetLegalNameWithheld(e.ctx, e.actor(), pos[0], *withhold)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no account %q (try keystage account list --search %s)", pos[0], pos[0])
	}
	if err != nil {
		return err
	}
	state := "shown where it is needed (the register, the subject access export)"
	if a.LegalNameWithheld {
		state = "withheld: the register and the subject access export show " + a.Name()
	}
	if !changed {
		fmt.Fprintf(e.stdout, "the legal name of %s was already %s; nothing changed\n", a.Username, state)
		return nil
	}
	fmt.Fprintf(e.stdout, "the legal name of %s is now %s\n", a.Username, state)
	return nil
}
