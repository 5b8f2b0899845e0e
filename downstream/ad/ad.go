// Package ad is the Active Directory downstream directory: it reads a
// domain over LDAPS and plans and makes the changes that make it hold what
// Keystage holds (downstream.Target). It works only inside the OU it is
// given, and touches only objects it owns: those it made or adopted carry
// the owner tag in adminDescription ("keystage:" and the account's
// entryUUID; "keystage-group:" and the name for a group). An object
// without the tag, an administrator (adminCount=1 or
// isCriticalSystemObject) and a name listed as protected are never
// changed, whatever they are called.
package ad

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/downstream"
)

// The owner tags, in adminDescription.
const (
	UserTag  = "keystage:"
	GroupTag = "keystage-group:"
	// OUTag marks an OU Keystage made; it never deletes one.
	OUTag = "keystage-ou"
)

// userAccountControl bits.
const (
	uacDisabled = 0x2
	uacNormal   = 0x200
)

// globalSecurityGroup is groupType for a global security group.
const globalSecurityGroup = "-2147483646"

// Match says how adoption finds an existing account's object.
type Match string

// The ways to match.
const (
	MatchEmployeeID     Match = "employeeID"     // employeeID is the MIS id
	MatchSAMAccountName Match = "sAMAccountName" // sAMAccountName is the username
)

// Config is how to reach and lay out the domain.
type Config struct {
	// URL is the domain controller, ldaps://dc.school.internal (LDAPS:
	// AD sets passwords only over an encrypted connection).
	URL string
	TLS *tls.Config
	// BindDN and BindPassword are the account Keystage binds as; it needs
	// to create, change, move and delete users and groups, and reset
	// passwords, in OU and nothing more.
	BindDN       string
	BindPassword string
	// BaseDN is the domain's root (DC=school,DC=internal): adoption
	// searches it for existing users, and no name Keystage wants may be
	// held there by an object it does not own.
	BaseDN string
	// OU is the OU Keystage's objects live under; it must exist.
	OU string
	// OUs is where each role's users go, relative to OU, with {year} the
	// pupil's year group and {school} School (default pupil "OU=Year
	// {year},OU=Pupils", staff "OU=Staff").
	OUs map[directory.Role]string
	// GroupsOU is where the groups go, relative to OU (default
	// "OU=Groups"); {school} is School.
	GroupsOU string
	// School names the school in the OU templates. Keystage has one school
	// per installation today; when a trust's schools arrive, it becomes
	// each account's own.
	School string
	// UPNSuffix is the userPrincipalName's part after the @ (default the
	// domain's DNS name, from BaseDN).
	UPNSuffix string
	// Match is how adoption finds existing users (default employeeID).
	Match Match
	// Protected are sAMAccountNames never touched, besides the
	// administrators found by adminCount and isCriticalSystemObject.
	Protected []string
}

// Target is the Active Directory downstream directory over one
// connection.
type Target struct {
	cfg  Config
	conn *ldap.Conn
}

var _ downstream.Target = (*Target)(nil)

// ErrNotLDAPS: the URL must be ldaps://.
var ErrNotLDAPS = errors.New("the domain controller must be reached over ldaps:// (Active Directory sets passwords only over an encrypted connection)")

// Open connects and binds.
func Open(ctx context.Context, cfg Config) (*Target, error) {
	if !strings.HasPrefix(strings.ToLower(cfg.URL), "ldaps://") {
		return nil, ErrNotLDAPS
	}
	if cfg.Match == "" {
		cfg.Match = MatchEmployeeID
	}
	if cfg.OUs == nil {
		cfg.OUs = map[directory.Role]string{}
	}
	if _, ok := cfg.OUs[directory.RolePupil]; !ok {
		cfg.OUs[directory.RolePupil] = "OU=Year {year},OU=Pupils"
	}
	if _, ok := cfg.OUs[directory.RoleStaff]; !ok {
		cfg.OUs[directory.RoleStaff] = "OU=Staff"
	}
	if cfg.GroupsOU == "" {
		cfg.GroupsOU = "OU=Groups"
	}
	if cfg.UPNSuffix == "" {
		cfg.UPNSuffix = dnsName(cfg.BaseDN)
	}
	conn, err := ldap.DialURL(cfg.URL, ldap.DialWithTLSConfig(cfg.TLS), ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	conn.SetTimeout(time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetTimeout(time.Until(dl))
	}
	if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bind to %s as %s: %w", cfg.URL, cfg.BindDN, err)
	}
	return &Target{cfg: cfg, conn: conn}, nil
}

// Name is "ad".
func (t *Target) Name() string { return "ad" }

// Close ends the connection.
func (t *Target) Close() error { return t.conn.Close() }

// dnsName is the DNS name of a domain's root DN: DC=school,DC=internal →
// school.internal.
func dnsName(base string) string {
	dn, err := ldap.ParseDN(base)
	if err != nil {
		return ""
	}
	var parts []string
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") {
				parts = append(parts, strings.ToLower(a.Value))
			}
		}
	}
	return strings.Join(parts, ".")
}

// canon is a DN in a form two spellings of the same DN share.
func canon(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.ReplaceAll(dn, ", ", ","))
	}
	var rdns []string
	for _, rdn := range p.RDNs {
		var as []string
		for _, a := range rdn.Attributes {
			as = append(as, strings.ToLower(a.Type)+"="+strings.ToLower(a.Value))
		}
		rdns = append(rdns, strings.Join(as, "+"))
	}
	return strings.Join(rdns, ",")
}

// parent is the DN above dn.
func parent(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) < 2 {
		return ""
	}
	return (&ldap.DN{RDNs: p.RDNs[1:]}).String()
}

// object is a user or group as read from the domain.
type object struct {
	DN       string
	Sam      string
	Tag      string // adminDescription
	UAC      int
	Admin    bool // adminCount=1 or isCriticalSystemObject
	Attrs    map[string]string
	Members  []string // a group's member DNs
	IsGroup  bool
	Computer bool
}

var userAttrs = []string{"sAMAccountName", "userPrincipalName", "givenName", "sn", "displayName", "employeeID", "mail"}

func (t *Target) search(base, filter string, attrs []string) ([]*ldap.Entry, error) {
	res, err := t.conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, attrs, nil), 500)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		return nil, fmt.Errorf("search %s %s: %w", base, filter, err)
	}
	return res.Entries, nil
}

// read reads the domain's users and groups under BaseDN, and the OUs
// under OU.
func (t *Target) read() (users, groups []*object, ous map[string]bool, err error) {
	attrs := append([]string{"adminDescription", "userAccountControl", "adminCount", "isCriticalSystemObject", "objectClass"}, userAttrs...)
	es, err := t.search(t.cfg.BaseDN, "(&(objectClass=user)(objectCategory=person))", attrs)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range es {
		o := &object{DN: e.DN, Sam: e.GetAttributeValue("sAMAccountName"), Tag: e.GetAttributeValue("adminDescription"), Attrs: map[string]string{}}
		o.UAC, _ = strconv.Atoi(e.GetAttributeValue("userAccountControl"))
		o.Admin = e.GetAttributeValue("adminCount") == "1" || strings.EqualFold(e.GetAttributeValue("isCriticalSystemObject"), "TRUE")
		o.Computer = slices.ContainsFunc(e.GetAttributeValues("objectClass"), func(c string) bool { return strings.EqualFold(c, "computer") })
		for _, a := range userAttrs {
			o.Attrs[a] = e.GetAttributeValue(a)
		}
		users = append(users, o)
	}
	es, err = t.search(t.cfg.BaseDN, "(objectClass=group)", []string{"sAMAccountName", "adminDescription", "member", "adminCount", "isCriticalSystemObject", "description"})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range es {
		members, err := t.members(e)
		if err != nil {
			return nil, nil, nil, err
		}
		o := &object{DN: e.DN, Sam: e.GetAttributeValue("sAMAccountName"), Tag: e.GetAttributeValue("adminDescription"), IsGroup: true,
			Members: members, Attrs: map[string]string{"description": e.GetAttributeValue("description")}}
		o.Admin = e.GetAttributeValue("adminCount") == "1" || strings.EqualFold(e.GetAttributeValue("isCriticalSystemObject"), "TRUE")
		groups = append(groups, o)
	}
	es, err = t.search(t.cfg.OU, "(objectClass=organizationalUnit)", []string{"ou"})
	if err != nil {
		return nil, nil, nil, err
	}
	ous = map[string]bool{}
	for _, e := range es {
		ous[canon(e.DN)] = true
	}
	if !ous[canon(t.cfg.OU)] {
		return nil, nil, nil, fmt.Errorf("the OU %s does not exist in the domain: make it (and give Keystage's account rights over it) first", t.cfg.OU)
	}
	return users, groups, ous, nil
}

// inOU reports whether dn is inside the OU Keystage works in.
func (t *Target) inOU(dn string) bool {
	return strings.HasSuffix(canon(dn), ","+canon(t.cfg.OU))
}

// members are a group's member DNs. AD hands a large group's members
// over in ranges (member;range=0-1499), each asked for in turn.
func (t *Target) members(e *ldap.Entry) ([]string, error) {
	out := e.GetAttributeValues("member")
	for _, a := range e.Attributes {
		r, ok := strings.CutPrefix(strings.ToLower(a.Name), "member;range=")
		if !ok {
			continue
		}
		out = append(out, a.Values...)
		for guard := 0; guard < 10000; guard++ {
			_, end, _ := strings.Cut(r, "-")
			if end == "*" {
				break
			}
			n, err := strconv.Atoi(end)
			if err != nil {
				return nil, fmt.Errorf("members of %s: range %q", e.DN, r)
			}
			res, err := t.conn.Search(ldap.NewSearchRequest(e.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{fmt.Sprintf("member;range=%d-*", n+1)}, nil))
			if err != nil {
				return nil, fmt.Errorf("members of %s: %w", e.DN, err)
			}
			if len(res.Entries) == 0 {
				break
			}
			next := ""
			for _, b := range res.Entries[0].Attributes {
				if rest, ok := strings.CutPrefix(strings.ToLower(b.Name), "member;range="); ok {
					out = append(out, b.Values...)
					next = rest
				}
			}
			if next == "" {
				break
			}
			r = next
		}
	}
	return out, nil
}

// ouOf is the OU an entry's object belongs in.
func (t *Target) ouOf(e downstream.Entry) string {
	tpl, ok := t.cfg.OUs[e.Role]
	if !ok || tpl == "" {
		return t.cfg.OU
	}
	year := e.YearGroup
	if year == "" {
		year = "none"
	}
	tpl = strings.ReplaceAll(tpl, "{year}", ldap.EscapeDN(year))
	return strings.ReplaceAll(tpl, "{school}", ldap.EscapeDN(t.cfg.School)) + "," + t.cfg.OU
}

// dnOf is the DN an entry's object should have.
func (t *Target) dnOf(e downstream.Entry) string {
	return "CN=" + ldap.EscapeDN(e.Username) + "," + t.ouOf(e)
}

func (t *Target) groupDN(name string) string {
	return "CN=" + ldap.EscapeDN(name) + "," + strings.ReplaceAll(t.cfg.GroupsOU, "{school}", ldap.EscapeDN(t.cfg.School)) + "," + t.cfg.OU
}

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

func (t *Target) addOU(dn string) func(context.Context) error {
	return func(context.Context) error {
		r := ldap.NewAddRequest(dn, nil)
		r.Attribute("objectClass", []string{"top", "organizationalUnit"})
		r.Attribute("adminDescription", []string{OUTag})
		if err := t.conn.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("add OU %s: %w", dn, err)
		}
		return nil
	}
}

// addUser makes an entry's object with a random password that no one
// knows, so that it can be enabled or disabled on its own; the person's
// own password arrives when Keystage sets one (PushPasswords).
func (t *Target) addUser(dn string, e downstream.Entry) func(context.Context) error {
	return func(context.Context) error {
		pw, err := randomPassword()
		if err != nil {
			return err
		}
		uac := uacNormal
		if !e.Enabled {
			uac |= uacDisabled
		}
		r := ldap.NewAddRequest(dn, nil)
		r.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		for a, v := range t.wantAttrs(e) {
			if v != "" {
				r.Attribute(a, []string{v})
			}
		}
		r.Attribute("adminDescription", []string{UserTag + e.UUID})
		r.Attribute("unicodePwd", []string{unicodePwd(pw)})
		r.Attribute("userAccountControl", []string{strconv.Itoa(uac)})
		if err := t.conn.Add(r); err != nil {
			return fmt.Errorf("add %s: %w", dn, err)
		}
		return nil
	}
}

func (t *Target) addGroup(dn string, g downstream.Group, members []string) func(context.Context) error {
	return func(context.Context) error {
		r := ldap.NewAddRequest(dn, nil)
		r.Attribute("objectClass", []string{"top", "group"})
		r.Attribute("sAMAccountName", []string{g.Name})
		r.Attribute("groupType", []string{globalSecurityGroup})
		r.Attribute("adminDescription", []string{GroupTag + g.Name})
		if g.Description != "" {
			r.Attribute("description", []string{g.Description})
		}
		if len(members) > 0 {
			r.Attribute("member", members)
		}
		if err := t.conn.Add(r); err != nil {
			return fmt.Errorf("add group %s: %w", dn, err)
		}
		return nil
	}
}

func (t *Target) changeMembers(dn string, add, remove []string) func(context.Context) error {
	return func(context.Context) error {
		r := ldap.NewModifyRequest(dn, nil)
		if len(add) > 0 {
			r.Add("member", add)
		}
		if len(remove) > 0 {
			r.Delete("member", remove)
		}
		if err := t.conn.Modify(r); err != nil {
			return fmt.Errorf("members of %s: %w", dn, err)
		}
		return nil
	}
}

func (t *Target) replace(dn string, attrs map[string]string) func(context.Context) error {
	return func(context.Context) error {
		r := ldap.NewModifyRequest(dn, nil)
		names := make([]string, 0, len(attrs))
		for a := range attrs {
			names = append(names, a)
		}
		slices.Sort(names)
		for _, a := range names {
			if attrs[a] == "" {
				r.Replace(a, nil)
			} else {
				r.Replace(a, []string{attrs[a]})
			}
		}
		if err := t.conn.Modify(r); err != nil {
			return fmt.Errorf("modify %s: %w", dn, err)
		}
		return nil
	}
}

func (t *Target) move(from, to string) func(context.Context) error {
	return func(context.Context) error {
		p, err := ldap.ParseDN(to)
		if err != nil || len(p.RDNs) < 2 {
			return fmt.Errorf("move %s: bad destination %s", from, to)
		}
		rdn := (&ldap.DN{RDNs: p.RDNs[:1]}).String()
		if err := t.conn.ModifyDN(ldap.NewModifyDNRequest(from, rdn, true, parent(to))); err != nil {
			return fmt.Errorf("move %s to %s: %w", from, to, err)
		}
		return nil
	}
}

func (t *Target) del(dn string) func(context.Context) error {
	return func(context.Context) error {
		if err := t.conn.Del(ldap.NewDelRequest(dn, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("delete %s: %w", dn, err)
		}
		return nil
	}
}

// SetPassword sets unicodePwd on the entry's object, found by its owner
// tag, and pwdLastSet: 0 makes AD ask for a new password at next logon,
// -1 marks it set now.
func (t *Target) SetPassword(ctx context.Context, e downstream.Entry, password string, mustChange bool) error {
	es, err := t.search(t.cfg.OU, "(&(objectClass=user)(adminDescription="+ldap.EscapeFilter(UserTag+e.UUID)+"))", []string{"adminCount", "isCriticalSystemObject"})
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return fmt.Errorf("%s: %w", e.Username, downstream.ErrNotThere)
	}
	if len(es) > 1 {
		return fmt.Errorf("%s: %d objects carry its owner tag", e.Username, len(es))
	}
	if es[0].GetAttributeValue("adminCount") == "1" || strings.EqualFold(es[0].GetAttributeValue("isCriticalSystemObject"), "TRUE") {
		return fmt.Errorf("%s: an administrator's account: its password is not set from Keystage", e.Username)
	}
	last := "-1"
	if mustChange {
		last = "0"
	}
	r := ldap.NewModifyRequest(es[0].DN, nil)
	r.Replace("unicodePwd", []string{unicodePwd(password)})
	r.Replace("pwdLastSet", []string{last})
	if err := t.conn.Modify(r); err != nil {
		// The error names the object, never the password.
		return fmt.Errorf("set the password of %s: %w", es[0].DN, err)
	}
	return nil
}

// unicodePwd is AD's form of a password to set: the password in double
// quotes, UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return string(b)
}

// randomPassword is a password no one knows that meets AD's complexity
// rule (three kinds of character, long enough for any length rule).
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "Ks-" + base64.RawURLEncoding.EncodeToString(b) + "a7Z!", nil
}
