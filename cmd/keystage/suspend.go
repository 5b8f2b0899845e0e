package main

import (
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

func cmdSuspend(e *env, args []string) error {
	fs := e.newFlags("suspend", "NAME (--until DATE | --for 3d | --until-lifted) [--from T] --reason TEXT [--incident REF]")
	until := fs.String("until", "", "the suspension ends at this date's midnight, or this time (YYYY-MM-DD[THH:MM], school time zone)")
	span := fs.String("for", "", "the suspension lasts this long from its start: 3d, 36h, 90m")
	open := fs.Bool("until-lifted", false, "no end: until keystage unsuspend")
	from := fs.String("from", "", "the suspension starts then (default now)")
	reason := fs.String("reason", "", "why (auditors read it; the person suspended does not)")
	incident := fs.String("incident", "", "the incident reference in the safeguarding log")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	ends := 0
	for _, set := range []bool{*until != "", *span != "", *open} {
		if set {
			ends++
		}
	}
	if ends != 1 {
		return usagef("say when it ends: one of --until DATE, --for 3d or --until-lifted")
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("give --reason: it is kept for auditors and the safeguarding lead")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	loc := cfg.Location()
	s, done, err := e.openForChange("suspend")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	sp := directory.Suspension{Reason: *reason, IncidentRef: *incident}
	start := d.Now()
	if *from != "" {
		if sp.From, err = parseWhen(*from, loc); err != nil {
			return usagef("--from %v", err)
		}
		start = sp.From
	}
	switch {
	case *until != "":
		if sp.Until, err = parseWhen(*until, loc); err != nil {
			return usagef("--until %v", err)
		}
	case *span != "":
		if sp.Until, err = addSpan(start, *span, loc); err != nil {
			return usagef("--for %v", err)
		}
	}
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	sp, err = d.Suspend(e.ctx, e.actor(), a, sp)
	if err != nil {
		return err
	}
	end := "until lifted (keystage unsuspend " + a.Username + ")"
	if !sp.Until.IsZero() {
		end = "until " + showWhen(sp.Until, loc)
	}
	fmt.Fprintf(e.stdout, "suspended %s from %s %s\n", a.Username, showWhen(sp.From, loc), end)
	if sp.From.After(d.Now().Add(time.Second)) {
		fmt.Fprintf(e.stderr, "The network still lets %s in until the start; then a running RADIUS server ends live Wi-Fi sessions.\n", a.Username)
	} else {
		fmt.Fprintf(e.stderr, "LDAP and Wi-Fi refuse %s now; a running RADIUS server ends live Wi-Fi sessions within seconds.\n", a.Username)
	}
	return nil
}
