package main

import (
	"fmt"

	"keystage.dev/keystage/directory"
)

func cmdUnsuspend(e *env, args []string) error {
	fs := e.newFlags("unsuspend", "NAME [--with WHO --note TEXT [--talked-on DATE]]")
	with := fs.String("with", "", "who took part in the conversation held before lifting (needed for a suspension only a role may lift)")
	note := fs.String("note", "", "a note of that conversation")
	talked := fs.String("talked-on", "", "when the conversation was held (YYYY-MM-DD[THH:MM], default now)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	l := directory.Lifting{With: *with, Note: *note}
	if *talked != "" {
		if l.At, err = parseWhen(*talked, cfg.Location()); err != nil {
			return usagef("--talked-on %v", err)
		}
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
	if l.Roles, err = e.actorRoles(e.ctx, s); err != nil {
		return err
	}
	lifted, err := d.LiftAll(e.ctx, e.actor(), a, l)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lifted %d suspension(s) of %s\n", len(lifted), a.Username)
	return nil
}
