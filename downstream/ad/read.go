package ad

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

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
