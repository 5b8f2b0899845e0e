package main

import (
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

func cmdSuspend(e *env, args []string) error {
	fs := e.newFlags("suspend", "NAME (--until DATE | --for 3d | --until-lifted | --lifted-by ROLE) [--scope all|internet|service:S] [--from T] --reason TEXT [--incident REF]")
	until := fs.String("until", "", "the suspension ends at this date's midnight, or this time (YYYY-MM-DD[THH:MM], school time zone)")
	span := fs.String("for", "", "the suspension lasts this long from its start: 3d, 36h, 90m")
	open := fs.Bool("until-lifted", false, "no end: until keystage unsuspend")
	from := fs.String("from", "", "the suspension starts then (default now)")
	reason := fs.String("reason", "", "why (auditors read it; the person suspended does not)")
	incident := fs.String("incident", "", "the incident reference in the safeguarding log")
	scope := fs.String("scope", "all", "what it takes away: all (desktop login and Wi-Fi), internet (Wi-Fi only), or service:ldap, service:wifi, service:portal")
	liftRole := fs.String("lifted-by", "", "no end date: only this staff role (e.g. safeguarding) may lift it, recording the conversation (keystage unsuspend --with --note)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	ends := 0
	for _, set := range []bool{*until != "", *span != "", *open, *liftRole != ""} {
		if set {
			ends++
		}
	}
	if ends != 1 {
		return usagef("say when it ends: one of --until DATE, --for 3d, --until-lifted or --lifted-by ROLE")
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("give --reason: it is kept for auditors and the safeguarding lead")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if *liftRole != "" {
		if _, ok := cfg.Portal.roleGroups()[*liftRole]; !ok {
			return usagef("--lifted-by %q is not a staff role: use safeguarding, technician, auditor or data-protection", *liftRole)
		}
	}
	loc := cfg.Location()
	s, done, err := e.openForChange("suspend")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	sc, err := directory.ParseSuspensionScope(*scope)
	if err != nil {
		return usagef("--scope: %v", err)
	}
	sp := directory.Suspension{Reason: *reason, IncidentRef: *incident, Scope: sc, LiftRole: *liftRole}
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
	switch {
	case sp.LiftRole != "":
		end = "until the " + sp.LiftRole + " role lifts it after a conversation (keystage unsuspend " + a.Username + " --with WHO --note TEXT)"
	case !sp.Until.IsZero():
		end = "until " + showWhen(sp.Until, loc)
	}
	fmt.Fprintf(e.stdout, "suspended %s from %s %s: %s\n", a.Username, showWhen(sp.From, loc), end, sp.Scope.Describe())
	var refused []string
	for _, svc := range []directory.Service{directory.ServiceLDAP, directory.ServiceWiFi, directory.ServicePortal} {
		if sp.Covers(svc) {
			refused = append(refused, map[directory.Service]string{directory.ServiceLDAP: "LDAP", directory.ServiceWiFi: "Wi-Fi", directory.ServicePortal: "the portal"}[svc])
		}
	}
	if sp.From.After(d.Now().Add(time.Second)) {
		fmt.Fprintf(e.stderr, "The network still lets %s in until the start; then %s refuse them, and a running RADIUS server ends live Wi-Fi sessions.\n", a.Username, strings.Join(refused, " and "))
	} else {
		fmt.Fprintf(e.stderr, "%s refuse %s now; a running RADIUS server ends live Wi-Fi sessions within seconds.\n", strings.Join(refused, " and "), a.Username)
	}
	return nil
}
