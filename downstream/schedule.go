package downstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

// Lock takes the downstream job lock, so that one node runs a downstream
// job at a time.
func (s *Sync) Lock(ctx context.Context) (release func(), err error) {
	if s.locker == nil {
		return func() {}, nil
	}
	release, ok, err := s.locker.TryJobLock(ctx, "downstream-"+s.cfg.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBusy
	}
	return release, nil
}

// RunOnce is one scheduled run under the job lock: plan, apply unless the
// plan is a mass change (logged for a technician), then push the
// passwords waiting. With quiet, a plan with nothing to do is not applied
// (and so not recorded): a run that a change in Keystage set off.
func (s *Sync) RunOnce(ctx context.Context, actor string) error {
	_, err := s.runOnce(ctx, actor, false)
	return err
}

// runOnce is RunOnce; it returns when the next run is due regardless of
// changes (Plan.NextChange).
func (s *Sync) runOnce(ctx context.Context, actor string, quiet bool) (next time.Time, err error) {
	job := s.cfg.Name
	began, result := s.dir.Now(), directory.ResultError
	defer func() { s.dir.ObserveJob(job, result, s.dir.Now().Sub(began)) }()
	release, err := s.Lock(ctx)
	if errors.Is(err, ErrBusy) {
		result = directory.ResultSkipped
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	defer release()
	p, t, err := s.Plan(ctx, false)
	if err != nil {
		return time.Time{}, err
	}
	defer t.Close()
	next = p.NextChange
	if p.Blocked != "" {
		result = directory.ResultRefused
		return next, fmt.Errorf("%s: %w: nothing changed; a technician must check and run it by hand: %s", job, ErrMassChange, p.Blocked)
	}
	if !quiet || p.actionable() > 0 {
		if _, err := s.Apply(ctx, t, p, actor); err != nil {
			return next, err
		}
	}
	if _, err := s.PushPasswords(ctx, t, actor); err != nil {
		return next, err
	}
	result = directory.ResultOK
	return next, nil
}

// actionable counts the changes that change something.
func (p *Plan) actionable() int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind != KindLeft {
			n++
		}
	}
	return n
}

// Settle is how long a run set off by a change in Keystage waits for
// more changes, so that a batch (an MIS sync's apply) makes one run.
const Settle = 3 * time.Second

// RunSchedule runs the scheduled run every Config.Every and pushes the
// passwords waiting every Config.PasswordsEvery, until ctx ends. With a
// schedule, a change to an account anywhere (a disable, a suspension, a
// leaver, on this node or another: the store's Watch) also sets off a run
// after Settle, so that the domain follows within seconds rather than at
// the next interval; a suspension that starts or ends later has no event
// then, so each run sets a timer for the soonest (Plan.NextChange), and a
// run soon after the start catches up on what happened while it was
// stopped. Runs set off so are applied only when there is something to
// do. Errors are logged: a downstream directory that is down is
// tried again next time, and the passwords wait sealed in the meantime.
func (s *Sync) RunSchedule(ctx context.Context) error {
	var runC <-chan time.Time
	changed := make(chan struct{}, 1)
	if s.cfg.Every > 0 {
		t := time.NewTicker(s.cfg.Every)
		defer t.Stop()
		runC = t.C
		if _, err := s.dir.WatchChanges(ctx, func(c directory.Changes) {
			if len(c.Accounts) > 0 || c.All {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}); err != nil {
			s.log.Warn("downstream: not told of changes; the interval alone drives it", "downstream", s.cfg.Name, "err", err)
		}
	}
	push := time.NewTicker(s.cfg.PasswordsEvery)
	defer push.Stop()
	var settle, due <-chan time.Time
	if s.cfg.Every > 0 {
		settle = time.After(Settle)
	}
	// after notes when the next run is due for a suspension that starts
	// or ends, on the directory's clock.
	after := func(next time.Time) {
		if next.IsZero() {
			due = nil
			return
		}
		due = time.After(max(next.Sub(s.dir.Now()), 0) + time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-runC:
			next, err := s.runOnce(ctx, "schedule", false)
			if err != nil {
				s.log.Error("scheduled downstream run", "downstream", s.cfg.Name, "err", err)
			}
			after(next)
		case <-changed:
			if settle == nil {
				settle = time.After(Settle)
			}
		case <-settle:
			settle = nil
			next, err := s.runOnce(ctx, "schedule", true)
			if err != nil {
				s.log.Error("downstream run after a change", "downstream", s.cfg.Name, "err", err)
			}
			after(next)
		case <-due:
			due = nil
			next, err := s.runOnce(ctx, "schedule", true)
			if err != nil {
				s.log.Error("downstream run as a suspension starts or ends", "downstream", s.cfg.Name, "err", err)
			}
			after(next)
		case <-push.C:
			if _, err := s.Push(ctx, "schedule"); err != nil && !errors.Is(err, ErrBusy) {
				s.log.Warn("pushing passwords downstream", "downstream", s.cfg.Name, "err", err)
			}
		}
	}
}
