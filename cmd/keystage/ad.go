package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"keystage.dev/keystage/downstream"
	"keystage.dev/keystage/terminal"
)

func cmdAD(e *env, args []string) error {
	return dispatch(e, "ad", "ad plan | apply | adopt | push", args,
		sub{"plan", func(e *env, args []string) error { return adRun(e, "plan", args) }},
		sub{"apply", func(e *env, args []string) error { return adRun(e, "apply", args) }},
		sub{"adopt", func(e *env, args []string) error { return adRun(e, "adopt", args) }},
		sub{"push", adPush})
}

// adRun plans (and with apply, applies) the changes that make Active
// Directory follow Keystage. adopt plans taking over the users that match
// and lists them; with --apply it takes them over.
func adRun(e *env, verb string, args []string) error {
	fs := e.newFlags("ad "+verb, "[--apply] [--allow-mass-change]")
	apply := verb == "apply"
	if verb != "apply" {
		fs.BoolVar(&apply, "apply", false, "carry out the plan printed (without it nothing changes)")
	}
	adopt := verb == "adopt"
	if verb != "adopt" {
		fs.BoolVar(&adopt, "adopt", false, "take over existing users that match (active_directory.match) instead of leaving them")
	}
	allow := fs.Bool("allow-mass-change", false, "apply even a plan that disables or deletes more than active_directory.mass_change")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("ad %s takes no names", verb)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if !cfg.ActiveDirectory.enabled() {
		return errors.New("no Active Directory is configured: set active_directory.url and the rest of [active_directory] (docs/active-directory.md)")
	}
	s, done, err := e.openPlanOrApply(apply, "apply the Active Directory plan")
	if err != nil {
		return err
	}
	defer done()
	sy, err := cfg.ActiveDirectory.sync(e.directory(s), cfg.School, cfg.schoolNames())
	if err != nil {
		return err
	}
	if apply {
		release, err := sy.Lock(e.ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	p, t, err := sy.Plan(e.ctx, adopt)
	if err != nil {
		return err
	}
	defer t.Close()
	if verb == "adopt" {
		printAdoption(e.stdout, p)
	} else {
		printADPlan(e.stdout, p)
	}
	if !apply {
		if p.Blocked != "" {
			fmt.Fprintf(e.stdout, "\nrefused as a mass change: %s\n", p.Blocked)
		}
		fmt.Fprintln(e.stdout, "\nnothing changed (add --apply to carry it out)")
		return nil
	}
	p.AllowMassChange = *allow
	res, err := sy.Apply(e.ctx, t, p, e.actor())
	fmt.Fprintf(e.stdout, "\napplied %d change(s)\n", res.Applied)
	if err != nil {
		return err
	}
	pushed, err := sy.PushPasswords(e.ctx, t, e.actor())
	if pushed.Pushed+pushed.Failed+pushed.Waiting > 0 {
		fmt.Fprintf(e.stdout, "passwords: %d set in Active Directory, %d refused (tried again later), %d waiting for their account\n", pushed.Pushed, pushed.Failed, pushed.Waiting)
	}
	return err
}

// printADPlan lists every change the plan makes, then what it leaves and
// why.
func printADPlan(w io.Writer, p *downstream.Plan) {
	n := 0
	for _, c := range p.Changes {
		if c.Kind == downstream.KindLeft {
			continue
		}
		n++
		line := fmt.Sprintf("%-14s %-20s %s", c.Kind, terminal.Safe(c.Name), terminal.Safe(c.DN))
		if c.NewDN != "" {
			line += " → " + terminal.Safe(c.NewDN)
		}
		if c.Why != "" {
			line += " (" + terminal.Safe(c.Why) + ")"
		}
		fmt.Fprintln(w, line)
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %s\n", terminal.Safe(f))
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "Active Directory already holds what Keystage holds")
	}
	printLeft(w, p)
	counts := p.Counts()
	var kinds []string
	for k, v := range counts {
		if k != string(downstream.KindLeft) {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
		}
	}
	slices.Sort(kinds)
	if len(kinds) > 0 {
		fmt.Fprintf(w, "\n%s; Keystage owns %d account(s) in the domain now\n", strings.Join(kinds, ", "), p.Managed)
	}
}

func printLeft(w io.Writer, p *downstream.Plan) {
	first := true
	for _, c := range p.Changes {
		if c.Kind != downstream.KindLeft {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nleft alone:")
			first = false
		}
		fmt.Fprintf(w, "  %-20s %s: %s\n", terminal.Safe(c.Name), terminal.Safe(c.DN), terminal.Safe(c.Why))
	}
}

// printAdoption lists the users it would take over, then the whole plan.
func printAdoption(w io.Writer, p *downstream.Plan) {
	n := 0
	for _, c := range p.Changes {
		if c.Kind == downstream.KindAdopt {
			if n == 0 {
				fmt.Fprintln(w, "would adopt:")
			}
			n++
			fmt.Fprintf(w, "  %-20s %s (%s)\n", terminal.Safe(c.Name), terminal.Safe(c.DN), terminal.Safe(c.Why))
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "no existing user matches a Keystage account that Keystage does not own already")
	}
	fmt.Fprintln(w, "\nthe whole plan, adoption included:")
	printADPlan(w, p)
}

// adPush pushes the passwords waiting for Active Directory now, as
// keystage serve does every active_directory.passwords_every.
func adPush(e *env, args []string) error {
	fs := e.newFlags("ad push", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if !cfg.ActiveDirectory.enabled() {
		return errors.New("no Active Directory is configured: set active_directory.url (docs/active-directory.md)")
	}
	s, done, err := e.openForChange("push passwords to Active Directory")
	if err != nil {
		return err
	}
	defer done()
	sy, err := cfg.ActiveDirectory.sync(e.directory(s), cfg.School, cfg.schoolNames())
	if err != nil {
		return err
	}
	res, err := sy.Push(e.ctx, e.actor())
	fmt.Fprintf(e.stdout, "passwords: %d set in Active Directory, %d refused (tried again later), %d waiting for their account\n", res.Pushed, res.Failed, res.Waiting)
	return err
}
