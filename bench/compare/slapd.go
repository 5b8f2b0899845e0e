package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"unicode/utf8"
)

// slapdHash is how slapd stores the login password: "ssha" ({SSHA},
// salted SHA-1, slapd's default and what most school directories hold)
// or "argon2" ({ARGON2} with Keystage's own argon2id PHC string, through
// slapd's argon2 module, so that a bind costs both servers the same).
func slapdPassword(scheme, argon2PHC string) (string, error) {
	switch scheme {
	case "argon2":
		return "{ARGON2}" + argon2PHC, nil
	case "ssha":
		salt := make([]byte, 8)
		if _, err := rand.Read(salt); err != nil {
			return "", err
		}
		sum := sha1.Sum(append([]byte(loginPassword), salt...))
		return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)), nil
	}
	return "", fmt.Errorf("slapd password scheme %q: use ssha or argon2", scheme)
}

// slapdConf writes slapd.conf (the classic file format, read with -f, so
// that nothing under /etc/ldap is used) for an mdb database in dir/db with
// the attributes the tests look up by indexed (uid; cn, memberUid and,
// through the memberof overlay, memberOf), as Keystage's store indexes
// usernames, group names and memberships.
func slapdConf(dir, scheme string, threads int) (string, error) {
	module := ""
	if scheme == "argon2" {
		module = "moduleload argon2"
	}
	conf := filepath.Join(dir, "slapd.conf")
	text := fmt.Sprintf(slapdTemplate, module, dir, threads, baseDN, filepath.Join(dir, "db"), readerDN)
	return conf, os.WriteFile(conf, []byte(text), 0o600)
}

// loadSlapd makes the database afresh and loads the people into it with
// slapadd. Every entry is what Keystage publishes for the person
// (inetOrgPerson, posixAccount), so that both answer the same search with
// the same attributes.
func loadSlapd(ctx context.Context, dir, conf string, people []person, scheme, argon2PHC string) error {
	db := filepath.Join(dir, "db")
	if err := os.RemoveAll(db); err != nil {
		return err
	}
	if err := os.MkdirAll(db, 0o700); err != nil {
		return err
	}
	ldif := filepath.Join(dir, "people.ldif")
	if err := writeLDIF(ldif, people, scheme, argon2PHC); err != nil {
		return err
	}
	// -q: no per-entry checks beyond the schema, as for a bulk load.
	out, err := exec.CommandContext(ctx, "slapadd", "-q", "-f", conf, "-l", ldif).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd: %w: %s", err, out)
	}
	return nil
}

// writeLDIF writes the suffix, the two organisational units, the reader
// and the people.
func writeLDIF(path string, people []person, scheme, argon2PHC string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	attr := func(name, value string) {
		if safeLDIF(value) {
			fmt.Fprintf(w, "%s: %s\n", name, value)
		} else {
			fmt.Fprintf(w, "%s:: %s\n", name, base64.StdEncoding.EncodeToString([]byte(value)))
		}
	}
	fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: School\ndc: school\n\n", baseDN)
	for _, ou := range []string{"people", "services", "groups"} {
		fmt.Fprintf(w, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, baseDN, ou)
	}
	pw, err := slapdPassword(scheme, argon2PHC)
	if err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(w, "dn: %s\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: %s\nuserPassword: %s\n\n", readerDN, reader, pw)
	for _, p := range people {
		if pw, err = slapdPassword(scheme, argon2PHC); err != nil {
			f.Close()
			return err
		}
		role := "pupil"
		if p.Staff {
			role = "staff"
		}
		sn := p.FamilyName
		if sn == "" {
			sn = p.Username
		}
		attr("dn", "uid="+p.Username+",ou=people,"+baseDN)
		for _, oc := range []string{"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"} {
			attr("objectClass", oc)
		}
		attr("uid", p.Username)
		attr("cn", p.Name)
		attr("sn", sn)
		if p.GivenName != "" {
			attr("givenName", p.GivenName)
		}
		attr("displayName", p.Name)
		attr("gecos", asciiOnly(p.Name))
		if p.Email != "" {
			attr("mail", p.Email)
		}
		attr("employeeType", role)
		attr("uidNumber", strconv.FormatInt(p.UIDNumber, 10))
		attr("gidNumber", strconv.FormatInt(p.GIDNumber, 10))
		attr("homeDirectory", p.Home)
		attr("loginShell", p.Shell)
		attr("userPassword", pw)
		for _, g := range p.Groups {
			attr("memberOf", "cn="+g.Name+",ou=groups,"+baseDN)
		}
		w.WriteString("\n")
	}
	// The groups, as posixGroup with memberUid (RFC 2307, what nslcd and
	// SSSD's rfc2307 schema read); Keystage also publishes groupOfNames,
	// which slapd's schema will not combine with posixGroup in one entry.
	members := map[groupRef][]string{}
	var order []groupRef
	for _, p := range people {
		for _, g := range p.Groups {
			if _, ok := members[g]; !ok {
				order = append(order, g)
			}
			members[g] = append(members[g], p.Username)
		}
	}
	for _, g := range order {
		attr("dn", "cn="+g.Name+",ou=groups,"+baseDN)
		attr("objectClass", "top")
		attr("objectClass", "posixGroup")
		attr("cn", g.Name)
		attr("gidNumber", strconv.FormatInt(g.GID, 10))
		for _, m := range members[g] {
			attr("memberUid", m)
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// safeLDIF reports whether an LDIF value may be written as is (RFC 2849
// SAFE-STRING); otherwise it is written in base64.
func safeLDIF(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[0] == ':' || s[0] == '<' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// asciiOnly keeps gecos to IA5, as Keystage publishes it.
func asciiOnly(s string) string {
	b := []byte{}
	for _, r := range s {
		if r < 0x7f {
			b = append(b, byte(r))
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

// slapdTemplate: the module line, the directory, threads, suffix, database
// directory, reader DN.
const slapdTemplate = `# Written by bench/compare: an OpenLDAP slapd for benchmarks on loopback only.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
%[1]s
pidfile %[2]s/slapd.pid
argsfile %[2]s/slapd.args
threads %[3]d
loglevel none

database mdb
maxsize 8589934592
suffix "%[4]s"
directory %[5]s
index objectClass eq
index uid eq
index cn eq
index memberUid eq
index memberOf eq
access to attrs=userPassword
	by anonymous auth
	by self write
	by * none
access to *
	by dn.exact="%[6]s" read
	by self read
	by * none
overlay memberof
`
