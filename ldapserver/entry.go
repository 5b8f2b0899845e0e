package ldapserver

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
)

// attr is one attribute of an entry; operational ones are returned only
// when asked for by name or with "+".
type attr struct {
	name        string
	lower       string // name in lower case (empty: not worked out)
	values      []string
	operational bool
	// folded says every value is as caseIgnoreMatch folds it already
	// (usernames), so that a filter compares them as they are.
	folded bool
	// foldedValues, when set, are the values as caseIgnoreMatch folds
	// them, worked out once for values that never change (objectClass).
	foldedValues []string
}

// entry is what a search returns, built from the directory on the fly.
// Its attributes are found by a scan of attrs: an entry has a couple of
// dozen, and a map for them cost more to build than every lookup of a
// search together.
type entry struct {
	dn    string
	attrs []attr
	need  *need    // the attributes to build; nil: all
	one   []string // the values of attributes of one value, in one array
}

// need is what attributes a search can use: those its attribute list
// may return and those its filter reads. An entry built for it holds
// only those, so that nslcd's six attributes do not cost the twenty an
// account publishes (names joined, numbers and times formatted, DNs
// built, for nothing).
type need struct {
	sel    selection
	filter []string // lower-case names the filter reads
}

func newNeed(sel selection, f *ber.Packet) *need {
	n := &need{sel: sel}
	n.filter = filterAttrs(f, n.filter)
	return n
}

// filterAttrs appends the attribute names a filter reads, lower case.
func filterAttrs(p *ber.Packet, out []string) []string {
	switch p.Tag {
	case filterAnd, filterOr, filterNot:
		for _, c := range p.Children {
			out = filterAttrs(c, out)
		}
	case filterPresent:
		out = append(out, attrName(p))
	case filterEquality, filterSubstrings, filterGreater, filterLess, filterApprox:
		out = append(out, attrName(p.Children[0]))
	}
	return out
}

// has reports whether attribute lower is needed.
func (n *need) has(lower string, operational bool) bool {
	return n == nil || slices.Contains(n.filter, lower) ||
		n.sel.wants(attr{name: lower, lower: lower, operational: operational})
}

// room is how many attributes an entry of at most max will hold.
func (n *need) room(max int) int {
	if n == nil || n.sel.allUser || n.sel.allOperational {
		return max
	}
	return min(max, len(n.sel.names)+len(n.filter)+1)
}

// wants reports whether the entry is to hold attribute lower.
func (e *entry) wants(lower string, operational bool) bool { return e.need.has(lower, operational) }

func (e *entry) add(name string, operational bool, values ...string) {
	vs := values // kept as given when none is empty: no copy of a long list
	for i, v := range values {
		if v == "" {
			vs = slices.Clone(values[:i])
			for _, v := range values[i+1:] {
				if v != "" {
					vs = append(vs, v)
				}
			}
			break
		}
	}
	if len(vs) == 0 {
		return
	}
	lower := lowerName(name)
	if !e.need.has(lower, operational) {
		return
	}
	if e.attrs == nil {
		e.attrs = make([]attr, 0, 24)
	}
	e.attrs = append(e.attrs, attr{name: name, lower: lower, values: vs, operational: operational})
}

// addAll adds an attribute whose values are known to be non-empty (a
// group's members: usernames), without looking through them for empty
// ones, which for a year group was a scan of thousands per entry.
func (e *entry) addAll(name string, operational bool, values []string) {
	if len(values) == 0 {
		return
	}
	lower := lowerName(name)
	if !e.need.has(lower, operational) {
		return
	}
	e.attrs = append(e.attrs, attr{name: name, lower: lower, values: values, operational: operational})
}

// add1 adds an attribute of one value (none when v is empty), its value
// kept in e.one rather than in a slice of its own.
func (e *entry) add1(name string, operational bool, v string) {
	if v == "" {
		return
	}
	lower := lowerName(name)
	if !e.need.has(lower, operational) {
		return
	}
	if e.attrs == nil {
		e.attrs = make([]attr, 0, 24)
	}
	e.one = append(e.one, v)
	n := len(e.one)
	e.attrs = append(e.attrs, attr{name: name, lower: lower, values: e.one[n-1 : n : n], operational: operational})
}

// attr finds an attribute by its lower-case name.
func (e *entry) attr(lower string) *attr {
	for i := range e.attrs {
		if e.attrs[i].lower == lower {
			return &e.attrs[i]
		}
	}
	return nil
}

// values returns an attribute's values, and whether the attribute is one
// this kind of entry can hold (an unknown one makes a filter Undefined).
func (e *entry) values(lower string) ([]string, bool) {
	if a := e.attr(lower); a != nil {
		return a.values, true
	}
	return nil, knownAttrs[lower]
}

// foldedValues returns an attribute's values as caseIgnoreMatch folds
// them when that is known without work: they were folded already, or
// were folded once when the server started.
func (e *entry) foldedValues(lower string) ([]string, bool) {
	a := e.attr(lower)
	switch {
	case a == nil:
		return nil, false
	case a.folded:
		return a.values, true
	case a.foldedValues != nil:
		return a.foldedValues, true
	}
	return nil, false
}

// addClasses adds objectClass with values whose folded form is known.
func (e *entry) addClasses(classes, folded []string) {
	n := len(e.attrs)
	if e.add("objectClass", false, classes...); len(e.attrs) > n {
		e.attrs[n].foldedValues = folded
	}
}

// knownAttrs are the attribute types the schema defines: a filter on any
// other is Undefined rather than False.
var knownAttrs = map[string]bool{}

// lowerNames maps the schema's attribute names as written to lower case,
// so that building an entry does not lower-case each name anew. Like
// knownAttrs it is filled once, at init, and only read after.
var lowerNames = map[string]string{}

func init() {
	for _, a := range schemaAttributes {
		for _, n := range a.names {
			knownAttrs[strings.ToLower(n)] = true
			lowerNames[n] = strings.ToLower(n)
			lowerNames[strings.ToLower(n)] = strings.ToLower(n)
		}
	}
}

// lowerName is an attribute name in lower case.
func lowerName(name string) string {
	if l, ok := lowerNames[name]; ok {
		return l
	}
	return strings.ToLower(name)
}

// normDN is a DN's comparable form: parsed, re-serialised, lower case. An
// unparseable DN is compared as lower-cased text, and so matches nothing
// that was generated here.
//
// The DNs this server writes (uid=NAME,ou=people,dc=…) are plain: their
// normal form is their lower-case text, found without parsing, which
// matters when a group's thousand member values meet a filter.
func normDN(s string) string {
	if plainDN(s) {
		return strings.ToLower(s)
	}
	return parsedNormDN(s)
}

// plainDN reports whether s is RDNs of one type=value each, joined by
// single commas, the type a letter then letters, digits or hyphens, the
// value letters, digits, '.', '-' or '_': nothing to unescape, unquote,
// trim or re-escape, so that parsing and writing it again changes nothing.
func plainDN(s string) bool {
	if s == "" {
		return false
	}
	for rdn := range strings.SplitSeq(s, ",") {
		typ, val, ok := strings.Cut(rdn, "=")
		if !ok || typ == "" || val == "" || !isLetter(typ[0]) {
			return false
		}
		for i := 0; i < len(typ); i++ {
			if c := typ[i]; !isLetter(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; !isLetter(c) && !isDigit(c) && c != '-' && c != '.' && c != '_' {
				return false
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// parsedNormDN is normDN by parsing, for any DN.
func parsedNormDN(s string) string {
	d, err := ldap.ParseDN(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return strings.ToLower(d.String())
}

// parseDN normalises a DN and splits it into lower-case RDN strings.
func parseDN(s string) ([]string, error) {
	if plainDN(s) {
		// As parsing would have it, without the parser's allocations.
		return strings.Split(strings.ToLower(s), ","), nil
	}
	d, err := ldap.ParseDN(s)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(d.RDNs))
	for i, r := range d.RDNs {
		out[i] = strings.ToLower(r.String())
	}
	return out, nil
}

// tree knows the DNs of the directory's entries.
type tree struct {
	base     string // as configured, for output
	baseNorm string
	baseRDNs []string
	// Worked out once by newTree, as every search of the subtree needs
	// them: the suffix and its three containers as entries with their
	// parsed DNs, and the containers' RDNs.
	fixed                   []fixedEntry
	people, groups, service []string
	groupDNs                *dnCache // nil: not kept
}

// dnCache keeps groups' DNs, which memberOf would otherwise build for each
// group of each person found. The names are the store's, not a client's,
// and at most maxCachedDNs are kept.
type dnCache struct {
	mu  sync.RWMutex
	dns map[string]string // group name → DN
}

const maxCachedDNs = 1 << 16

// memberOfDN is the DN of the group named name, kept once built.
func (t *tree) memberOfDN(name string) string {
	c := t.groupDNs
	if c == nil {
		return t.groupDN(name)
	}
	c.mu.RLock()
	dn, ok := c.dns[name]
	c.mu.RUnlock()
	if ok {
		return dn
	}
	dn = t.groupDN(name)
	c.mu.Lock()
	if len(c.dns) < maxCachedDNs {
		c.dns[name] = dn
	}
	c.mu.Unlock()
	return dn
}

// fixedEntry is one of the fixed entries with its normalised RDNs.
type fixedEntry struct {
	e    *entry
	rdns []string
}

func newTree(base string, rdns []string) tree {
	t := tree{base: base, baseNorm: strings.Join(rdns, ","), baseRDNs: rdns, groupDNs: &dnCache{dns: map[string]string{}}}
	t.people = append([]string{"ou=people"}, rdns...)
	t.groups = append([]string{"ou=groups"}, rdns...)
	t.service = append([]string{"ou=services"}, rdns...)
	for _, e := range t.fixedEntries() {
		for i := range e.attrs {
			e.attrs[i].foldedValues = foldAll(e.attrs[i].values) // every search's filter meets them
		}
		r, err := parseDN(e.dn)
		if err != nil {
			panic("ldapserver: fixed entry " + e.dn + ": " + err.Error()) // the base parsed already
		}
		t.fixed = append(t.fixed, fixedEntry{e: e, rdns: r})
	}
	return t
}

func (t *tree) personDN(name string) string  { return "uid=" + name + ",ou=people," + t.base }
func (t *tree) serviceDN(name string) string { return "uid=" + name + ",ou=services," + t.base }
func (t *tree) groupDN(name string) string   { return "cn=" + name + ",ou=groups," + t.base }
func (t *tree) accountDN(a directory.Account) string {
	if a.Role == directory.RoleService {
		return t.serviceDN(a.Username)
	}
	return t.personDN(a.Username)
}

const subschemaDN = "cn=Subschema"

// The object classes of people and of service accounts, fixed: a search
// may rule a whole container out by them without reading it.
var (
	personObjectClasses  = []string{"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"}
	serviceObjectClasses = []string{"top", "account"}
	groupObjectClasses   = []string{"top", "posixGroup", "groupOfNames"}

	// The same, folded once: every filter on objectClass compares them.
	personObjectClassesFolded  = foldAll(personObjectClasses)
	serviceObjectClassesFolded = foldAll(serviceObjectClasses)
	groupObjectClassesFolded   = foldAll(groupObjectClasses)
)

func foldAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = foldValue(v)
	}
	return out
}

// personEntry publishes an account as inetOrgPerson, posixAccount and
// shadowAccount (or a service account as account). groups is nil when
// memberOf was not asked for.
func (t *tree) personEntry(a directory.Account, groups []directory.Group) *entry {
	return t.personEntryFor(a, groups, nil)
}

// personEntryFor is personEntry with only the attributes n needs.
func (t *tree) personEntryFor(a directory.Account, groups []directory.Group, n *need) *entry {
	e := &entry{dn: t.accountDN(a), need: n}
	if a.Role == directory.RoleService {
		e.addClasses(serviceObjectClasses, serviceObjectClassesFolded)
		e.add1("uid", false, a.Username)
		if e.wants("description", false) {
			e.add1("description", false, a.Name())
		}
		t.operational(e, a.UUID, a.CreatedAt, a.UpdatedAt)
		return e
	}
	e.attrs, e.one = make([]attr, 0, n.room(21)), make([]string, 0, n.room(21))
	e.addClasses(personObjectClasses, personObjectClassesFolded)
	e.add1("uid", false, a.Username)
	if e.wants("cn", false) {
		e.add1("cn", false, a.Name())
	}
	if e.wants("sn", false) || e.wants("givenname", false) {
		given, sn := a.ShownNames() // the preferred name, as cn; never a withheld legal name
		if sn == "" {
			sn = a.Username
		}
		e.add1("sn", false, sn)
		e.add1("givenName", false, given)
	}
	if e.wants("displayname", false) {
		e.add1("displayName", false, a.Name())
	}
	if e.wants("gecos", false) {
		e.add1("gecos", false, asciiGecos(a.Name()))
	}
	e.add1("mail", false, a.Email)
	e.add1("employeeType", false, string(a.Role))
	// ou: the account's school in a trust, then the schools it is also
	// registered at (none for the trust's own staff and a single school),
	// so that an application may filter by (ou=north).
	if a.School != "" && e.wants("ou", false) {
		e.add("ou", false, append([]string{a.School}, a.AlsoSchools...)...)
	}
	if e.wants("uidnumber", false) {
		e.add1("uidNumber", false, strconv.FormatInt(a.UIDNumber, 10))
	}
	if e.wants("gidnumber", false) {
		e.add1("gidNumber", false, strconv.FormatInt(a.GIDNumber, 10))
	}
	if e.wants("homedirectory", false) {
		home := a.HomeDirectory
		if home == "" {
			home = "/home/" + a.Username
		}
		e.add1("homeDirectory", false, home)
	}
	shell := a.LoginShell
	if shell == "" {
		shell = "/bin/bash"
	}
	e.add1("loginShell", false, shell)
	if e.wants("shadowexpire", false) {
		if exp := shadowExpire(a); exp != 0 {
			e.add1("shadowExpire", false, strconv.FormatInt(exp, 10))
		}
	}
	if len(groups) > 0 && e.wants("memberof", false) {
		dns := make([]string, len(groups))
		for i, g := range groups {
			dns[i] = t.memberOfDN(g.Name)
		}
		e.add("memberOf", false, dns...)
	}
	t.operational(e, a.UUID, a.CreatedAt, a.UpdatedAt)
	return e
}

// shadowExpire tells PAM (pam_unix through nss) when the account ends, in
// days since 1970: the day after the leave date, or day 1 once disabled,
// so that a cached login on a laptop also stops.
func shadowExpire(a directory.Account) int64 {
	if a.Status == directory.StatusDisabled {
		return 1
	}
	if a.LeaveDate.IsZero() {
		return 0
	}
	return a.LeaveDate.AddDate(0, 0, 1).Unix() / 86400
}

// asciiGecos keeps gecos to IA5, as RFC 2307 defines it.
func asciiGecos(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x7f {
			return r
		}
		return '?'
	}, s)
}

// groupEntry publishes a group as posixGroup and groupOfNames. members is
// nil when neither memberUid nor member was asked for.
func (t *tree) groupEntry(g directory.Group, members []string) *entry {
	return t.groupEntryWith(g, members, true)
}

// groupEntryWith is groupEntry, with the member DNs left out when memberDNs
// is false (neither asked for nor filtered on: a long list of strings
// built for nothing).
func (t *tree) groupEntryWith(g directory.Group, members []string, memberDNs bool) *entry {
	return t.groupEntryFor(g, members, memberDNs, nil)
}

// groupEntryFor is groupEntryWith with only the attributes n needs.
func (t *tree) groupEntryFor(g directory.Group, members []string, memberDNs bool, n *need) *entry {
	e := &entry{dn: t.memberOfDN(g.Name), need: n, attrs: make([]attr, 0, n.room(8)), one: make([]string, 0, n.room(8))}
	e.addClasses(groupObjectClasses, groupObjectClassesFolded)
	e.add1("cn", false, g.Name)
	if e.wants("gidnumber", false) {
		e.add1("gidNumber", false, strconv.FormatInt(g.GIDNumber, 10))
	}
	e.add1("description", false, g.Description)
	e.addAll("memberUid", false, members)
	if a := e.attr("memberuid"); a != nil {
		a.folded = true // usernames: lower case, no spaces (directory.ValidUsername)
	}
	if memberDNs && e.wants("member", false) {
		dns := make([]string, len(members))
		for i, m := range members {
			dns[i] = t.personDN(m)
		}
		e.addAll("member", false, dns)
	}
	e.add1("subschemaSubentry", true, subschemaDN)
	e.add1("entryDN", true, e.dn)
	return e
}

func (t *tree) operational(e *entry, uuid string, created, updated time.Time) {
	e.add1("entryUUID", true, uuid)
	if !created.IsZero() && e.wants("createtimestamp", true) {
		e.add1("createTimestamp", true, created.UTC().Format("20060102150405Z"))
	}
	if !updated.IsZero() && e.wants("modifytimestamp", true) {
		e.add1("modifyTimestamp", true, updated.UTC().Format("20060102150405Z"))
	}
	e.add1("subschemaSubentry", true, subschemaDN)
	e.add1("entryDN", true, e.dn)
}

// fixedEntries are the suffix and its three containers.
func (t *tree) fixedEntries() []*entry {
	dc := strings.TrimPrefix(t.baseRDNs[0], "dc=")
	b := &entry{dn: t.base}
	b.add("objectClass", false, "top", "dcObject", "organization")
	b.add("dc", false, dc)
	b.add("o", false, dc)
	out := []*entry{b}
	for _, ou := range []string{"people", "groups", "services"} {
		e := &entry{dn: "ou=" + ou + "," + t.base}
		e.add("objectClass", false, "top", "organizationalUnit")
		e.add("ou", false, ou)
		out = append(out, e)
	}
	for _, e := range out {
		e.add("subschemaSubentry", true, subschemaDN)
		e.add("entryDN", true, e.dn)
	}
	return out
}

// selection is the attribute list of a search request.
type selection struct {
	allUser, allOperational, none bool
	names                         map[string]bool
}

func newSelection(list []string) selection {
	s := selection{names: map[string]bool{}}
	if len(list) == 0 {
		s.allUser = true
	}
	for _, a := range list {
		switch a {
		case "*":
			s.allUser = true
		case "+":
			s.allOperational = true
		case "1.1":
			if len(list) == 1 {
				s.none = true
			}
		default:
			s.names[lowerName(a)] = true
		}
	}
	return s
}

func (s selection) wants(a attr) bool {
	if s.none {
		return false
	}
	lower := a.lower
	if lower == "" {
		lower = strings.ToLower(a.name)
	}
	if s.names[lower] {
		return true
	}
	if a.operational {
		return s.allOperational
	}
	return s.allUser
}

// wantsName reports whether an attribute named lower may be returned
// (used to skip loading memberships nobody asked for).
func (s selection) wantsName(lower string, operational bool) bool {
	return s.wants(attr{name: lower, operational: operational})
}

// encodeEntry builds a SearchResultEntry.
func encodeEntry(e *entry, sel selection, typesOnly bool) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appSearchEntry, nil, "SearchResultEntry")
	p.AppendChild(octets(e.dn, "objectName"))
	list := ber.NewSequence("attributes")
	for _, a := range e.attrs {
		if !sel.wants(a) {
			continue
		}
		pa := ber.NewSequence("PartialAttribute")
		pa.AppendChild(octets(a.name, "type"))
		vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		if !typesOnly {
			for _, v := range a.values {
				vals.AppendChild(octets(v, "value"))
			}
		}
		pa.AppendChild(vals)
		list.AppendChild(pa)
	}
	p.AppendChild(list)
	return p
}
