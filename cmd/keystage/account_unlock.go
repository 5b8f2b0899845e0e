package main

import (
	"fmt"
)

// accountUnlock lifts the lockout's blocks on one account: the locks made
// by too many wrong passwords, from its own devices and from new ones.
func accountUnlock(e *env, args []string) error {
	fs := e.newFlags("account unlock", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	if err := e.directory(s).Unlock(e.ctx, e.actor(), a); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "unlocked %s: the failed sign-ins are forgotten and they can sign in at once with the right password\n", a.Username)
	return nil
}
