package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

func cmdPassword(e *env, args []string) error {
	return dispatch(e, "password", "password check --user NAME … < candidate | password issue (--user NAME | --reg R | --year Y | --group G | --starters) [--out FILE] [--csv FILE] | password reset NAME", args,
		sub{"check", passwordCheck},
		sub{"issue", passwordIssue},
		sub{"reset", passwordReset})
}

func passwordCheck(e *env, args []string) error {
	fs := e.newFlags("password check", "--user NAME [--given G --family F] [--policy P]")
	user := fs.String("user", "", "the username the password is for")
	given := fs.String("given", "", "the person's given name (when the account does not exist yet)")
	family := fs.String("family", "", "the person's family name (when the account does not exist yet)")
	policy := fs.String("policy", "", "the policy to check against (default: the account's, else staff)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return usagef("--user is needed")
	}
	candidate, err := readSecret(e, "Password to check: ")
	if err != nil {
		return err
	}
	a := directory.Account{Username: *user, GivenName: *given, FamilyName: *family, Role: directory.RoleStaff}
	var vs []passwords.Violation
	checked := false
	if s, err := e.openStore(true); err == nil {
		defer s.Close()
		d := e.directory(s)
		if found, err := s.AccountByUsername(e.ctx, *user); err == nil {
			a = found
			if *policy == "" {
				if vs, err = d.CheckPassword(e.ctx, a, candidate); err != nil {
					return err
				}
				checked = true
			}
		} else if !errors.Is(err, directory.ErrNotFound) {
			return err
		}
	}
	name := *policy
	if !checked {
		pols := e.policies()
		if name == "" {
			name = directory.PolicyName(a)
		}
		p, ok := pols[name]
		if !ok {
			return usagef("no password policy %q (have: %s)", name, strings.Join(sortedKeys(pols), ", "))
		}
		vs = p.Check(candidate, passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName})
	}
	if len(vs) == 0 {
		fmt.Fprintln(e.stdout, "OK: this password follows every rule.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Not allowed: %d rule(s) broken.\n", len(vs))
	for _, v := range vs {
		fmt.Fprintf(e.stdout, "  - %s [%s]\n", v.Message, v.Code)
	}
	return errSilent
}

// readSecret reads one secret line: without echo from a terminal, or the
// first line of standard input otherwise. It is never taken from argv, where
// other users could see it.
func readSecret(e *env, prompt string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("reading from the terminal: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		// A usage mistake, as a missing flag is: exit 2.
		return "", usagef("nothing on standard input: pipe the secret in, or run on a terminal")
	}
	return line, nil
}
