package main

import (
	"fmt"
	"net/url"
	"slices"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/terminal"
)

func cmdMigrate(e *env, args []string) error {
	if len(args) != 1 || !oneOf(args[0], "up", "status", "gids") {
		return usagef("want: migrate up | migrate status | migrate gids")
	}
	var (
		s   *sqlstore.Store
		err error
	)
	if args[0] == "up" || args[0] == "gids" {
		s, err = e.openStore(false) // opening migrates
	} else {
		s, err = e.openStoreWith(sqlstore.Config{StatusOnly: true})
	}
	if err != nil {
		return err
	}
	defer s.Close()
	ms, err := s.Migrations(e.ctx)
	if err != nil {
		return err
	}
	if args[0] == "gids" || slices.Contains(s.Migrated(), userPrivateGroups) {
		if err := printGIDChanges(e, s, args[0] == "gids"); err != nil || args[0] == "gids" {
			return err
		}
	}
	cfg, _ := e.config()
	fmt.Fprintf(e.stdout, "database %s (%s)\n", redactURL(cfg.DatabaseURL()), s.Dialect())
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tSTATE")
	for _, m := range ms {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Source, state)
	}
	return tw.Flush()
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// userPrivateGroups is the migration that gives each person a group of
// their own and moves the other groups' gids out of the people's range.
const userPrivateGroups = 110

// printGIDChanges prints the old-to-new gid mapping of migration 00110,
// with the commands that put files owned by an old gid right. A file whose
// owner's uid equals its old gid belongs to that person's own group now,
// which is the same number, and must be left alone.
func printGIDChanges(e *env, s *sqlstore.Store, always bool) error {
	cs, err := s.GIDChanges(e.ctx)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		if always {
			fmt.Fprintln(e.stdout, "no gidNumber was moved: every group was already in the groups' range")
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "Each person now has a group of their own, with gid = uid; groups moved to gidNumber %d and up.\n", directory.FirstGroupGID)
	fmt.Fprintln(e.stdout, "Files owned by a moved gid: run the chgrp line of each on every file server (keystage migrate gids prints this again).")
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tOLD GID\tNEW GID\tFIX FILES WITH")
	for _, c := range cs {
		fix := fmt.Sprintf("find / -xdev -gid %d ! -uid %d -exec chgrp -h %d {} +", c.OldGID, c.OldGID, c.NewGID)
		if c.Kind == "account" {
			fix = fmt.Sprintf("find / -xdev -uid %d -gid %d -exec chgrp -h %d {} +", c.NewGID, c.OldGID, c.NewGID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", c.Kind, terminal.Safe(c.Name), c.OldGID, c.NewGID, fix)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	return nil
}
