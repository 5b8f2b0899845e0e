package main

import (
	"errors"
	"fmt"

	"keystage.dev/keystage/directory"
)

func cmdWiFi(e *env, args []string) error {
	if len(args) == 0 || !oneOf(args[0], "issue", "show", "revoke") {
		return usagef("want: wifi issue NAME | wifi show NAME | wifi revoke NAME")
	}
	sub := args[0]
	fs := e.newFlags("wifi "+sub, "NAME")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, err := e.openStore(sub == "show")
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		return err
	}
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	switch sub {
	case "issue":
		cred, err := d.IssueWiFi(e.ctx, e.actor(), a)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", cred)
		fmt.Fprintf(e.stderr, "New Wi-Fi credential for %s (the old one, if any, no longer works).\n", a.Username)
	case "show":
		cred, err := d.WiFiSecret(e.ctx, a)
		if errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("%s has no Wi-Fi credential in force: keystage wifi issue %s", a.Username, a.Username)
		}
		if err != nil {
			return err
		}
		if _, ok := directory.WiFiNTHash(cred); ok {
			return fmt.Errorf("%s's Wi-Fi credential is the NT hash taken over from the old directory (their old password): there is nothing to show; keystage wifi issue %s gives them one of their own", a.Username, a.Username)
		}
		fmt.Fprintf(e.stdout, "%s\n", cred)
	case "revoke":
		if err := d.RevokeWiFi(e.ctx, e.actor(), a); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Wi-Fi credential of %s revoked: new sign-ins are refused; a running RADIUS server ends its live sessions.\n", a.Username)
	}
	return nil
}
