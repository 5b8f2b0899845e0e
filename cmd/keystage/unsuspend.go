package main

import "fmt"

func cmdUnsuspend(e *env, args []string) error {
	fs := e.newFlags("unsuspend", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, done, err := e.openForChange("lift the suspension")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	lifted, err := d.LiftAll(e.ctx, e.actor(), a)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lifted %d suspension(s) of %s\n", len(lifted), a.Username)
	return nil
}
