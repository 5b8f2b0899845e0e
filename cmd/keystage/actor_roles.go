package main

import (
	"context"
	"errors"
	"os"
	"os/user"
	"strings"

	"keystage.dev/keystage/directory"
)

// actorAccount is the account of the person running a command, named by
// --as (KEYSTAGE_AS), else KEYSTAGE_ACTOR, else the operating system user; ok is false when no
// account has that name.
func (e *env) actorAccount(ctx context.Context, s directory.Reader) (directory.Account, bool, error) {
	name := e.as
	if name == "" {
		name = os.Getenv("KEYSTAGE_ACTOR")
	}
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if strings.TrimSpace(name) == "" {
		return directory.Account{}, false, nil
	}
	a, err := s.AccountByUsername(ctx, name)
	if errors.Is(err, directory.ErrNotFound) {
		return a, false, nil
	}
	return a, err == nil, err
}

// actorRoles are the staff roles of the person running a command: those
// their account holds through the portal's role groups, as if they had
// signed in to the portal. Someone with no account holds none.
func (e *env) actorRoles(ctx context.Context, s directory.Reader) ([]string, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	a, ok, err := e.actorAccount(ctx, s)
	if err != nil || !ok {
		return nil, err
	}
	return directory.StaffRolesOf(ctx, s, a, cfg.Portal.roleGroups())
}
