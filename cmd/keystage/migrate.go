package main

import (
	"fmt"
	"net/url"
	"text/tabwriter"

	"keystage.dev/keystage/directory/sqlstore"
)

func cmdMigrate(e *env, args []string) error {
	if len(args) != 1 || !oneOf(args[0], "up", "status") {
		return usagef("want: migrate up | migrate status")
	}
	var (
		s   *sqlstore.Store
		err error
	)
	if args[0] == "up" {
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
