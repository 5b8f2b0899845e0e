package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
)

// cmdFilter: the mapping of groups to VLANs and filters, changed by a
// proposal with a risk note that a senior role approves.
func cmdFilter(e *env, args []string) error {
	return dispatch(e, "filter", "filter list [--all] | propose --group G [--school ID] (--vlan V | --filter F | --remove …) --risk TEXT | approve ID --approver NAME | reject ID --approver NAME", args,
		sub{"list", filterList},
		sub{"propose", filterPropose},
		sub{"approve", func(e *env, args []string) error { return filterDecide(e, args, true) }},
		sub{"reject", func(e *env, args []string) error { return filterDecide(e, args, false) }})
}

// importFilterConfig takes the configuration's [[radius.policy]] into the
// directory, as keystage serve does at its first start, so that a proposal
// is made against the mapping the school has.
func importFilterConfig(e *env, d *directory.Directory) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	n, err := d.ImportNetworkPolicies(e.ctx, "system:configuration", networkPolicies(cfg.RADIUS.policies()))
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stderr, "%d mapping(s) taken from [[radius.policy]] into the directory as approved; the configuration's list is not read from now on\n", n)
	}
	return nil
}

func filterList(e *env, args []string) error {
	fs := e.newFlags("filter list", "[--all]")
	all := fs.Bool("all", false, "also rejected and superseded proposals")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	ps, err := s.NetworkPolicies(e.ctx)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.stdout, "The directory holds no network policy yet: the configuration's [[radius.policy]] apply, and are taken into the directory at the next keystage serve or filter propose.")
		for _, p := range cfg.RADIUS.policies() {
			fmt.Fprintf(e.stdout, "  %s: vlan %q filter %q\n", p.Group, p.VLAN, p.FilterID)
		}
		return nil
	}
	loc := cfg.Location()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSCHOOL\tGROUP\tPRECEDENCE\tVLAN\tFILTER\tCLASS\tTIMEOUT\tPROPOSED BY\tDECIDED BY\tRISK NOTE")
	for _, p := range ps {
		if !*all && (p.Status == directory.NetworkRejected || p.Status == directory.NetworkSuperseded) {
			continue
		}
		status := string(p.Status)
		if p.Removal {
			status += " (removal)"
		}
		timeout := "-"
		if p.SessionTimeout > 0 {
			timeout = p.SessionTimeout.String()
		}
		decided := "-"
		if !p.DecidedAt.IsZero() {
			decided = p.DecidedBy + " " + showWhen(p.DecidedAt, loc)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, status, schoolOrTrust(p.School), p.Group, p.Precedence, dash(p.VLAN), dash(p.FilterID),
			dash(p.Class), timeout, p.ProposedBy, decided, p.RiskNote)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func filterPropose(e *env, args []string) error {
	fs := e.newFlags("filter propose", "--group G [--school ID] [--vlan V] [--filter F] [--class C] [--session-timeout 8h] [--precedence N] [--remove] --risk TEXT")
	group := fs.String("group", "", "the group the mapping is for (* for everyone)")
	vlan := fs.String("vlan", "", "the VLAN (Tunnel-Private-Group-Id)")
	filter := fs.String("filter", "", "the filter (Filter-Id) the access point applies")
	class := fs.String("class", "", "the Class echoed in accounting")
	timeout := fs.Duration("session-timeout", 0, "the session ends after this long (0: none)")
	precedence := fs.Int("precedence", -1, "lower first: the first mapping whose group a person is in applies (default: the group's current, or after the others)")
	remove := fs.Bool("remove", false, "propose that the group have no mapping")
	school := fs.String("school", "", "for the NAS clients of this school only, before the trust's mappings (empty: trust-wide)")
	risk := fs.String("risk", "", "the risk assessment: what the change lets through or blocks, for whom, and why it is safe")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments besides the flags")
	}
	s, done, err := e.openForChange("propose a filtering change")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	if err := importFilterConfig(e, d); err != nil {
		return err
	}
	if *school != "" {
		// A school's staff (--as) propose for their own school's access
		// points, never another's.
		scope, err := e.actingScope(s)
		if err != nil {
			return err
		}
		if !scope.Trust() && *school != scope.School {
			return fmt.Errorf("--school %s: you act for school %s: %w", *school, scope.School, directory.ErrOutOfScope)
		}
	}
	p := directory.NetworkPolicy{Group: *group, VLAN: *vlan, FilterID: *filter, Class: *class, SessionTimeout: *timeout, Removal: *remove,
		RiskNote: *risk, Precedence: *precedence, School: *school}
	if p.Precedence < 0 {
		p.Precedence = nextPrecedence(e, s, *school, *group)
	}
	p, err = d.ProposeNetworkPolicy(e.ctx, e.actor(), p)
	if err != nil {
		return err
	}
	at := ""
	if p.School != "" {
		at = " at " + p.School + "'s NAS clients"
	}
	fmt.Fprintf(e.stdout, "proposal %d for %s%s recorded; it has no effect until approved: keystage filter approve %d --approver NAME\n", p.ID, p.Group, at, p.ID)
	return nil
}

// nextPrecedence keeps a group's place when its mapping (for school, or
// the trust's) changes, and puts a new group after the others of the same
// school (but before *, which matches everyone).
func nextPrecedence(e *env, s directory.Reader, school, group string) int {
	ps, err := s.NetworkPolicies(e.ctx)
	if err != nil {
		return 1000
	}
	last := 0
	for _, p := range directory.NetworkPoliciesInForce(ps) {
		if p.School != school {
			continue
		}
		if p.Group == group {
			return p.Precedence
		}
		if p.Group != "*" && p.Precedence > last {
			last = p.Precedence
		}
	}
	return last + 10
}

func filterDecide(e *env, args []string, approve bool) error {
	verb := map[bool]string{true: "approve", false: "reject"}[approve]
	fs := e.newFlags("filter "+verb, "ID --approver NAME [--note TEXT]")
	approver := fs.String("approver", "", "the username of the person deciding, a member of [approvals] filtering_groups")
	note := fs.String("note", "", "the decision's note (where it was agreed, conditions)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one proposal id (keystage filter list)")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usagef("%q: want a proposal id (keystage filter list)", pos[0])
	}
	if *approver == "" {
		return usagef("give --approver NAME: the person who decides, recorded with the decision")
	}
	s, done, err := e.openForChange(verb + " a filtering change")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	by, err := findAccount(e.ctx, s, *approver)
	if err != nil {
		return err
	}
	p, err := d.DecideNetworkPolicy(e.ctx, e.actor(), by, id, approve, *note)
	if err != nil {
		return err
	}
	if approve {
		at := ""
		if p.School != "" {
			at = " at " + p.School + "'s NAS clients"
		}
		fmt.Fprintf(e.stdout, "proposal %d approved by %s: group %s%s now lands on vlan %q filter %q; every RADIUS node applies it within seconds\n",
			p.ID, by.Username, p.Group, at, p.VLAN, p.FilterID)
	} else {
		fmt.Fprintf(e.stdout, "proposal %d rejected by %s\n", p.ID, by.Username)
	}
	return nil
}
