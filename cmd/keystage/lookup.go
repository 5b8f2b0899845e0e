package main

import (
	"context"
	"errors"
	"fmt"

	"keystage.dev/keystage/directory"
)

// findAccount loads an account by username, saying what to try when there
// is none.
func findAccount(ctx context.Context, s directory.Reader, name string) (directory.Account, error) {
	a, err := s.AccountByUsername(ctx, name)
	if errors.Is(err, directory.ErrNotFound) {
		return a, fmt.Errorf("no account %q (try keystage account list --search %s)", name, name)
	}
	return a, err
}

// openForChange opens the store to write. On SQLite it works beside a
// running keystage serve, which hears the change within a second; only a
// migration or a restore in progress holds the store to itself.
func (e *env) openForChange(what string) (directory.Store, func(), error) {
	s, err := e.openStore(false)
	if errors.Is(err, directory.ErrLocked) {
		return nil, nil, fmt.Errorf("cannot %s now: %w", what, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// openAccountForChange opens the store as openForChange does and finds the
// account by username in it; done closes the store.
func (e *env) openAccountForChange(what, name string) (directory.Store, directory.Account, func(), error) {
	s, done, err := e.openForChange(what)
	if err != nil {
		return nil, directory.Account{}, nil, err
	}
	a, err := findAccount(e.ctx, s, name)
	if err != nil {
		done()
		return nil, directory.Account{}, nil, err
	}
	return s, a, done, nil
}

// openPlanOrApply opens the store for a command that plans first: read
// only for the plan, to write (as openForChange) when apply is set.
func (e *env) openPlanOrApply(apply bool, what string) (directory.Store, func(), error) {
	if apply {
		return e.openForChange(what)
	}
	s, err := e.openStore(true)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}
