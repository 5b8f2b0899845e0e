package main

import (
	"fmt"
	"time"
)

// cmdPasskey issues a one-time passkey enrolment code: where the portal
// requires a passkey of a role, the first passkey of someone holding it
// needs one, so that a stolen password cannot plant a passkey. Run on the
// server, it is how the first technician gets theirs.
func cmdPasskey(e *env, args []string) error {
	return dispatch(e, "passkey", "passkey enrol NAME", args, sub{"enrol", passkeyEnrol})
}

func passkeyEnrol(e *env, args []string) error {
	fs := e.newFlags("passkey enrol", "NAME")
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
	d := e.directory(s)
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	code, expires, err := d.IssuePasskeyEnrolment(e.ctx, e.actor(), a)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", code)
	fmt.Fprintf(e.stderr, "Passkey enrolment code for %s, good for one passkey until %s. Give it to them in person: they type it on the portal's Passkeys page. A new code replaces this one.\n",
		a.Username, expires.In(time.Local).Format("Mon 2 Jan 2006 15:04"))
	return nil
}
