package main

import (
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

// accountTransfer moves a person to another of the trust's schools,
// keeping the account (docs/trusts.md).
func accountTransfer(e *env, args []string) error {
	fs := e.newFlags("account transfer", "NAME --to SCHOOL|trust")
	to := fs.String("to", "", "the school's id, or trust for the trust's central staff")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *to == "" {
		return usagef("want one username and --to SCHOOL")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if err := cfg.checkSchool(*to, true); err != nil {
		return usagef("--to: %v", err)
	}
	school := *to
	if school == "trust" {
		school = ""
	}
	s, done, err := e.openForChange("transfer an account")
	if err != nil {
		return err
	}
	defer done()
	// A move between schools touches two: the trust's staff make it. A
	// school's staff are refused, on their own people with that reason.
	if _, err := e.findAccount(s, pos[0]); err != nil {
		return err
	}
	if scope, err := e.actingScope(s); err != nil {
		return err
	} else if !scope.Trust() {
		return fmt.Errorf("transfer %s: a move between schools is made by the trust's staff, and you act for school %s: %w", pos[0], scope.School, directory.ErrOutOfScope)
	}
	a, err := e.directory(s).TransferAccount(e.ctx, e.actor(), pos[0], school)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is now at %s; username, history and credentials kept\n", a.Username, schoolLine(cfg, a.School))
	fmt.Fprintf(e.stderr, "They sign %s's AUP at their next sign-in to the portal; the next sync of its MIS gives them its groups.\n", schoolLine(cfg, a.School))
	return nil
}

// accountSchools sets the other schools a pupil is on the roll of.
func accountSchools(e *env, args []string) error {
	fs := e.newFlags("account schools", "NAME --also SCHOOL[,SCHOOL…] (empty: none)")
	also := fs.String("also", "", "the other schools, comma-separated; empty to end dual registration")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	var ids []string
	for _, id := range strings.Split(*also, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	s, done, err := e.openForChange("change dual registration")
	if err != nil {
		return err
	}
	defer done()
	if _, err := e.findAccount(s, pos[0]); err != nil {
		return err
	}
	a, err := e.directory(s).SetAlsoSchools(e.ctx, e.actor(), pos[0], ids)
	if err != nil {
		return err
	}
	cfg, _ := e.config()
	fmt.Fprintf(e.stdout, "%s: %s", a.Username, schoolLine(cfg, a.School))
	for _, id := range a.AlsoSchools {
		fmt.Fprintf(e.stdout, ", also %s", schoolLine(cfg, id))
	}
	fmt.Fprintln(e.stdout)
	return nil
}
