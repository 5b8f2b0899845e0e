package ad

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"keystage.dev/keystage/downstream"
)

// wantAttrs are the attributes Keystage keeps on an entry's object; an
// empty value is removed.
func (t *Target) wantAttrs(e downstream.Entry) map[string]string {
	return map[string]string{
		"sAMAccountName":    e.Username,
		"userPrincipalName": e.Username + "@" + t.cfg.UPNSuffix,
		"givenName":         e.GivenName,
		"sn":                e.FamilyName,
		"displayName":       e.DisplayName,
		"employeeID":        e.MISID,
		"mail":              e.Email,
	}
}

func (t *Target) protected(o *object) string {
	switch {
	case o.Admin:
		return "an administrator or built-in account (adminCount or isCriticalSystemObject): never touched"
	case o.Computer:
		return "a computer account: never touched"
	case slices.ContainsFunc(t.cfg.Protected, func(p string) bool { return strings.EqualFold(p, o.Sam) }):
		return "listed as protected in the configuration: never touched"
	}
	return ""
}

// Plan reads the domain and plans; see downstream.Target.
func (t *Target) Plan(ctx context.Context, want downstream.Want, adopt bool) (*downstream.Plan, error) {
	users, groups, ous, err := t.read()
	if err != nil {
		return nil, err
	}
	p := &downstream.Plan{}
	byTag := map[string]*object{}
	bySam := map[string]*object{}
	byEmp := map[string][]*object{}
	for _, o := range users {
		if id, ok := strings.CutPrefix(o.Tag, UserTag); ok {
			byTag[strings.ToLower(id)] = o
			if t.inOU(o.DN) {
				p.Managed++
			}
		}
		bySam[strings.ToLower(o.Sam)] = o
		if id := o.Attrs["employeeID"]; id != "" {
			byEmp[id] = append(byEmp[id], o)
		}
	}
	ensureOU := func(dn string) {
		// Make the OUs from the top down, each once.
		var chain []string
		for d := dn; d != "" && !ous[canon(d)] && len(canon(d)) > len(canon(t.cfg.OU)); d = parent(d) {
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			d := chain[i]
			ous[canon(d)] = true
			p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindOU, DN: d, Apply: t.addOU(d)})
		}
	}
	final := map[string]string{} // username → the DN it will have
	seen := map[*object]bool{}
	var creates, adopts, updates, moves, toggles []downstream.Change
	for _, e := range want.Entries {
		o := byTag[strings.ToLower(e.UUID)]
		if o == nil {
			var cand *object
			switch t.cfg.Match {
			case MatchSAMAccountName:
				cand = bySam[strings.ToLower(e.Username)]
			default:
				if e.MISID != "" && len(byEmp[e.MISID]) == 1 {
					cand = byEmp[e.MISID][0]
				}
			}
			if cand != nil && cand.Tag != "" && strings.HasPrefix(cand.Tag, UserTag) {
				cand = nil // owned by another Keystage account
			}
			switch {
			case cand != nil && t.protected(cand) != "":
				p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: cand.DN, Why: t.protected(cand)})
				continue
			case cand != nil && !adopt:
				p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: cand.DN,
					Why: fmt.Sprintf("an existing account matches by %s and is not Keystage's: keystage ad adopt takes it over", t.cfg.Match)})
				continue
			case cand != nil:
				if cand.Tag != "" {
					p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: cand.DN,
						Why: "its adminDescription is set (" + cand.Tag + "): Keystage keeps its owner tag there, so it adopts no object whose adminDescription is in use"})
					continue
				}
				o = cand
				adopts = append(adopts, downstream.Change{Kind: downstream.KindAdopt, Name: e.Username, DN: o.DN,
					Fields: []string{"adminDescription: → " + UserTag + e.UUID}, Why: "matched by " + string(t.cfg.Match),
					Apply: t.replace(o.DN, map[string]string{"adminDescription": UserTag + e.UUID})})
			}
		}
		if o == nil {
			if !e.Exists {
				continue
			}
			if held := bySam[strings.ToLower(e.Username)]; held != nil {
				why := t.protected(held)
				if why == "" {
					why = "the name " + e.Username + " is held by an account Keystage does not own: rename or adopt it"
				}
				p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: held.DN, Why: why})
				continue
			}
			dn := t.dnOf(e)
			ensureOU(parent(dn))
			fields := []string{}
			for _, a := range userAttrs {
				if v := t.wantAttrs(e)[a]; v != "" {
					fields = append(fields, a+": → "+v)
				}
			}
			state := "enabled"
			if !e.Enabled {
				state = "disabled (" + string(e.Why) + ")"
			}
			creates = append(creates, downstream.Change{Kind: downstream.KindCreate, Name: e.Username, DN: dn, Fields: fields, Why: state,
				Apply: t.addUser(dn, e)})
			final[e.Username] = dn
			continue
		}
		seen[o] = true
		why := t.protected(o)
		if why == "" && !t.inOU(o.DN) && !slices.ContainsFunc(adopts, func(c downstream.Change) bool { return c.DN == o.DN }) {
			why = "it carries Keystage's tag but was moved out of " + t.cfg.OU + " by hand: Keystage works only inside its OU"
		}
		if why != "" {
			p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: o.DN, Why: why})
			continue
		}
		// Attributes.
		var fields []string
		mods := map[string]string{}
		for _, a := range userAttrs {
			w := t.wantAttrs(e)[a]
			if o.Attrs[a] != w {
				if a == "sAMAccountName" {
					if held := bySam[strings.ToLower(w)]; held != nil && held != o {
						p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: e.Username, DN: o.DN,
							Why: "renaming to " + w + " is blocked: the name is held by " + held.DN})
						continue
					}
				}
				fields = append(fields, a+": "+o.Attrs[a]+" → "+w)
				mods[a] = w
			}
		}
		if len(mods) > 0 {
			updates = append(updates, downstream.Change{Kind: downstream.KindUpdate, Name: e.Username, DN: o.DN, Fields: fields, Apply: t.replace(o.DN, mods)})
		}
		// Place.
		dn := o.DN
		if want := t.dnOf(e); canon(want) != canon(o.DN) {
			ensureOU(parent(want))
			moves = append(moves, downstream.Change{Kind: downstream.KindMove, Name: e.Username, DN: o.DN, NewDN: want, Apply: t.move(o.DN, want)})
			dn = want
		}
		final[e.Username] = dn
		// Enabled.
		disabled := o.UAC&uacDisabled != 0
		switch {
		case e.Enabled && disabled:
			toggles = append(toggles, downstream.Change{Kind: downstream.KindEnable, Name: e.Username, DN: dn,
				Apply: t.replace(dn, map[string]string{"userAccountControl": strconv.Itoa(o.UAC &^ uacDisabled)})})
		case !e.Enabled && !disabled:
			toggles = append(toggles, downstream.Change{Kind: downstream.KindDisable, Name: e.Username, DN: dn, Why: string(e.Why),
				Apply: t.replace(dn, map[string]string{"userAccountControl": strconv.Itoa(o.UAC | uacDisabled)})})
		}
	}
	// Objects Keystage owns whose account is gone: the purge.
	var deletes []downstream.Change
	for id, o := range byTag {
		if seen[o] || !t.inOU(o.DN) {
			continue
		}
		if why := t.protected(o); why != "" {
			p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: o.Sam, DN: o.DN, Why: why})
			continue
		}
		if want.Unmirrored[id] {
			// The account is still in Keystage, in a role not mirrored:
			// disabled, kept until it is purged.
			if o.UAC&uacDisabled == 0 {
				toggles = append(toggles, downstream.Change{Kind: downstream.KindDisable, Name: o.Sam, DN: o.DN, Why: "its role is not mirrored",
					Apply: t.replace(o.DN, map[string]string{"userAccountControl": strconv.Itoa(o.UAC | uacDisabled)})})
			}
			continue
		}
		deletes = append(deletes, downstream.Change{Kind: downstream.KindDelete, Name: o.Sam, DN: o.DN,
			Why: "its Keystage account was purged", Apply: t.del(o.DN)})
	}
	slices.SortFunc(deletes, func(a, b downstream.Change) int { return strings.Compare(a.DN, b.DN) })
	groupChanges := t.planGroups(want, groups, final, ensureOU, p)
	p.Changes = append(p.Changes, adopts...)
	p.Changes = append(p.Changes, creates...)
	p.Changes = append(p.Changes, updates...)
	p.Changes = append(p.Changes, moves...)
	p.Changes = append(p.Changes, toggles...)
	p.Changes = append(p.Changes, groupChanges...)
	p.Changes = append(p.Changes, deletes...)
	// OUs first, then the rest in the order above; what is left is shown
	// last.
	slices.SortStableFunc(p.Changes, func(a, b downstream.Change) int {
		rank := func(c downstream.Change) int {
			switch c.Kind {
			case downstream.KindOU:
				return 0
			case downstream.KindLeft:
				return 2
			}
			return 1
		}
		return rank(a) - rank(b)
	})
	return p, nil
}

// planGroups plans the groups Keystage owns: made when missing, their
// Keystage members kept (members Keystage does not own are left alone),
// deleted when the Keystage group is gone.
func (t *Target) planGroups(want downstream.Want, groups []*object, final map[string]string, ensureOU func(string), p *downstream.Plan) []downstream.Change {
	var out []downstream.Change
	byTag := map[string]*object{}
	bySam := map[string]*object{}
	for _, g := range groups {
		if name, ok := strings.CutPrefix(g.Tag, GroupTag); ok && t.inOU(g.DN) {
			byTag[strings.ToLower(name)] = g
		}
		bySam[strings.ToLower(g.Sam)] = g
	}
	owned := map[string]bool{} // canon DNs of the users Keystage will own
	for _, dn := range final {
		owned[canon(dn)] = true
	}
	seen := map[*object]bool{}
	for _, g := range want.Groups {
		var members []string
		for _, u := range g.Members {
			if dn, ok := final[u]; ok {
				members = append(members, dn)
			}
		}
		o := byTag[strings.ToLower(g.Name)]
		if o == nil {
			if held := bySam[strings.ToLower(g.Name)]; held != nil {
				p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: g.Name, DN: held.DN,
					Why: "the group name " + g.Name + " is held by a group Keystage does not own"})
				continue
			}
			dn := t.groupDN(g.Name)
			ensureOU(parent(dn))
			out = append(out, downstream.Change{Kind: downstream.KindGroupCreate, Name: g.Name, DN: dn,
				Fields: []string{fmt.Sprintf("member: %d", len(members))}, Apply: t.addGroup(dn, g, members)})
			continue
		}
		seen[o] = true
		if o.Admin {
			p.Changes = append(p.Changes, downstream.Change{Kind: downstream.KindLeft, Name: g.Name, DN: o.DN, Why: "a protected group (adminCount): never touched"})
			continue
		}
		have := map[string]string{}
		for _, m := range o.Members {
			have[canon(m)] = m
		}
		var add, remove, fields []string
		for _, m := range members {
			if _, ok := have[canon(m)]; !ok {
				add = append(add, m)
				fields = append(fields, "member: + "+m)
			}
		}
		wanted := map[string]bool{}
		for _, m := range members {
			wanted[canon(m)] = true
		}
		for c, m := range have {
			if !wanted[c] && owned[c] { // a member made by hand stays
				remove = append(remove, m)
				fields = append(fields, "member: - "+m)
			}
		}
		slices.Sort(fields)
		if len(add)+len(remove) > 0 {
			out = append(out, downstream.Change{Kind: downstream.KindGroupMembers, Name: g.Name, DN: o.DN, Fields: fields, Apply: t.changeMembers(o.DN, add, remove)})
		}
	}
	for name, o := range byTag {
		if seen[o] || o.Admin {
			continue
		}
		out = append(out, downstream.Change{Kind: downstream.KindGroupDelete, Name: name, DN: o.DN, Why: "its Keystage group is gone", Apply: t.del(o.DN)})
	}
	return out
}
