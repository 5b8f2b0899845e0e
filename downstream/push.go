package downstream

import (
	"context"
	"errors"
	"fmt"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// PushResult is what a push of the passwords waiting did.
type PushResult struct {
	Pushed  int
	Waiting int // not there yet: left for after the next run
	Failed  int
}

// PushPasswords sets in the downstream directory every password waiting
// for it, oldest first, and deletes each once set, in the transaction that
// records "NAME.password". One the directory refuses (its own password
// policy, say) is counted with its error and tried again next time; one
// for a person not there yet waits. The password is opened only here and
// never logged.
func (s *Sync) PushPasswords(ctx context.Context, t Target, actor string) (PushResult, error) {
	var res PushResult
	st := s.dir.Store()
	pending, err := st.PendingPasswords(ctx, s.cfg.Name, 0)
	if err != nil || len(pending) == 0 {
		return res, err
	}
	sealer := s.dir.Sealer()
	if sealer == nil {
		return res, directory.ErrNoSealer
	}
	for _, p := range pending {
		a, err := st.Account(ctx, p.AccountID)
		if err != nil {
			return res, err
		}
		e := Entry{AccountID: a.ID, UUID: a.UUID, Username: a.Username, MISID: a.MISID}
		pw, err := sealer.Open(p.Sealed, directory.PendingPasswordAD(s.cfg.Name, a.ID))
		if err == nil {
			err = t.SetPassword(ctx, e, string(pw), p.MustChange)
		}
		clear(pw)
		switch {
		case errors.Is(err, ErrNotThere):
			res.Waiting++
			continue
		case err != nil:
			res.Failed++
			msg := err.Error()
			s.log.Warn("password not set downstream; tried again later", "downstream", s.cfg.Name, "account", a.Username, "err", msg)
			if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				if err := tx.NotePendingPasswordFailure(ctx, p.ID, msg); err != nil {
					return err
				}
				return s.dir.Record(ctx, tx, actor, s.action("password_failed"), audit.AccountTarget(a.Username), nil, map[string]any{"error": msg, "attempt": p.Attempts + 1})
			}); err != nil {
				return res, err
			}
			continue
		}
		if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.DeletePendingPassword(ctx, p.ID); err != nil {
				return err
			}
			return s.dir.Record(ctx, tx, actor, s.action("password"), audit.AccountTarget(a.Username), nil, map[string]any{"must_change": p.MustChange})
		}); err != nil {
			return res, err
		}
		res.Pushed++
	}
	return res, nil
}

// Push pushes the passwords waiting, under the job lock, when there are
// any: what the schedule does every PasswordsEvery.
func (s *Sync) Push(ctx context.Context, actor string) (PushResult, error) {
	pending, err := s.dir.Store().PendingPasswords(ctx, s.cfg.Name, 1)
	if err != nil || len(pending) == 0 {
		return PushResult{}, err
	}
	release, err := s.Lock(ctx)
	if err != nil {
		return PushResult{}, err
	}
	defer release()
	t, err := s.cfg.Open(ctx)
	if err != nil {
		return PushResult{}, fmt.Errorf("%s: %w", s.cfg.Name, err)
	}
	defer t.Close()
	return s.PushPasswords(ctx, t, actor)
}
