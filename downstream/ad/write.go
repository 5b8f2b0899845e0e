package ad

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/downstream"
)

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
