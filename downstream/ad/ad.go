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
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

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
	// School names the school in the OU templates: a single school's
	// name, or in a trust the name for its own people (central staff).
	School string
	// SchoolNames are a trust's schools' names by id: a person's {school}
	// is their own school's name, so each school's people have their OUs,
	// and a transfer moves the object.
	SchoolNames map[string]string
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

// inOU reports whether dn is inside the OU Keystage works in.
func (t *Target) inOU(dn string) bool {
	return strings.HasSuffix(canon(dn), ","+canon(t.cfg.OU))
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
	school := t.cfg.School
	if name, ok := t.cfg.SchoolNames[e.School]; ok && e.School != "" {
		school = name
	}
	tpl = strings.ReplaceAll(tpl, "{year}", ldap.EscapeDN(year))
	return strings.ReplaceAll(tpl, "{school}", ldap.EscapeDN(school)) + "," + t.cfg.OU
}

// dnOf is the DN an entry's object should have.
func (t *Target) dnOf(e downstream.Entry) string {
	return "CN=" + ldap.EscapeDN(e.Username) + "," + t.ouOf(e)
}

func (t *Target) groupDN(name string) string {
	return "CN=" + ldap.EscapeDN(name) + "," + strings.ReplaceAll(t.cfg.GroupsOU, "{school}", ldap.EscapeDN(t.cfg.School)) + "," + t.cfg.OU
}
