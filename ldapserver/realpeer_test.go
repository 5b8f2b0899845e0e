package ldapserver_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// need finds a Debian tool, skipping without it except in CI, where
// missing peers are a failure.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed in CI: .ci/run must install it", tool)
		}
		t.Skipf("%s not installed (apt-get install ldap-utils nslcd libnss-ldapd)", tool)
	}
	return p
}

// run runs a tool with the test server's certificate trusted and returns
// its standard output, failing the test with its standard error.
func run(t *testing.T, srv *ldaptest.Server, wantOK bool, name string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(need(t, name), args...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+srv.CAFile, "LDAPTLS_REQCERT=demand", "LDAPRC=/dev/null")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if wantOK && err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	if !wantOK && err == nil {
		t.Fatalf("%s %s succeeded; want it to fail\n%s", name, strings.Join(args, " "), out.String())
	}
	return out.String(), errb.String()
}

func TestLdapwhoami(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	for _, tc := range []struct {
		name, url      string
		extra          []string
		user, pw, want string
	}{
		{"plain on loopback, DN", srv.URL, nil, person(ldaptest.Teacher), ldaptest.TeacherPassword, "dn:" + person(ldaptest.Teacher)},
		{"StartTLS, UPN", srv.URL, []string{"-ZZ"}, ldaptest.Pupil + "@" + ldaptest.Domain, ldaptest.PupilPassword, "dn:" + person(ldaptest.Pupil)},
		{"ldaps, bare name", srv.LDAPSURL, nil, ldaptest.Pupil, ldaptest.PupilPassword, "dn:" + person(ldaptest.Pupil)},
		{"service account", srv.URL, []string{"-ZZ"}, service(ldaptest.Service), ldaptest.ServicePassword, "dn:" + service(ldaptest.Service)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-x", "-H", tc.url, "-D", tc.user, "-w", tc.pw}, tc.extra...)
			out, _ := run(t, srv, true, "ldapwhoami", args...)
			if strings.TrimSpace(out) != tc.want {
				t.Errorf("ldapwhoami said %q, want %q", out, tc.want)
			}
		})
	}
	_, stderr := run(t, srv, false, "ldapwhoami", "-x", "-H", srv.URL, "-D", ldaptest.Leaver, "-w", ldaptest.OtherPassword)
	if !strings.Contains(stderr, "Invalid credentials (49)") || !strings.Contains(stderr, "data 533") {
		t.Errorf("leaver: ldapwhoami printed %q; want result 49 with data 533", stderr)
	}
}

func TestLdapsearch(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{People: 130})
	bind := []string{"-x", "-H", srv.URL, "-ZZ", "-D", service(ldaptest.Service), "-w", ldaptest.ServicePassword}
	out, _ := run(t, srv, true, "ldapsearch", append(bind, "-LLL", "-b", base, "(uid="+ldaptest.Pupil+")", "uid", "uidNumber", "memberOf")...)
	for _, want := range []string{"dn: " + person(ldaptest.Pupil), "uid: " + ldaptest.Pupil, "uidNumber: ", "memberOf: cn=7a,ou=groups," + base} {
		if !strings.Contains(out, want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}
	// The root DSE, anonymously, over ldaps.
	out, _ = run(t, srv, true, "ldapsearch", "-x", "-H", srv.LDAPSURL, "-LLL", "-s", "base", "-b", "", "+", "*")
	if !strings.Contains(out, "namingContexts: "+base) || !strings.Contains(out, "supportedControl: 1.2.840.113556.1.4.319") {
		t.Errorf("root DSE:\n%s", out)
	}
	// A paged enumeration of everyone, 50 to a page.
	out, _ = run(t, srv, true, "ldapsearch", append(bind, "-E", "pr=50/noprompt", "-b", "ou=people,"+base, "-s", "one", "(objectClass=posixAccount)", "uid")...)
	if n := strings.Count(out, "\ndn: "); n != 130+5 {
		t.Errorf("paged search returned %d entries, want %d", n, 130+5)
	}
	// ldapsearch prints one "pagedresults" line per page it was sent.
	if n := strings.Count(out, "pagedresults: cookie="); n < 3 {
		t.Errorf("paged search spanned %d pages, want 3 or more", n)
	}
	// An anonymous search of the tree is refused.
	_, stderr := run(t, srv, false, "ldapsearch", "-x", "-H", srv.URL, "-LLL", "-b", base, "(uid=*)")
	if !strings.Contains(stderr, "Insufficient access (50)") {
		t.Errorf("anonymous search: %q", stderr)
	}
}

func TestLdappasswd(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	const newPW = "Granite-Lantern-Orbit-47"
	stdout, _ := run(t, srv, false, "ldappasswd", "-x", "-H", srv.URL, "-ZZ", "-D", person(ldaptest.Teacher), "-w", ldaptest.TeacherPassword, "-s", "jteacher1")
	if !strings.Contains(stdout, "Constraint violation (19)") || !strings.Contains(stdout, "part of your username") || !strings.Contains(stdout, "too easy to guess") {
		t.Errorf("weak password: ldappasswd printed %q; want each broken rule", stdout)
	}
	// Each rule with its code, as keystage password check prints it.
	for _, code := range []string{"Take it out. [username]", "[dictionary]"} {
		if !strings.Contains(stdout, code) {
			t.Errorf("weak password: ldappasswd printed %q; want the rule's code %s", stdout, code)
		}
	}
	run(t, srv, true, "ldappasswd", "-x", "-H", srv.URL, "-ZZ", "-D", person(ldaptest.Teacher), "-w", ldaptest.TeacherPassword, "-a", ldaptest.TeacherPassword, "-s", newPW)
	out, _ := run(t, srv, true, "ldapwhoami", "-x", "-H", srv.LDAPSURL, "-D", ldaptest.Teacher, "-w", newPW)
	if strings.TrimSpace(out) != "dn:"+person(ldaptest.Teacher) {
		t.Errorf("whoami with the new password: %q", out)
	}
	run(t, srv, false, "ldapwhoami", "-x", "-H", srv.LDAPSURL, "-D", ldaptest.Teacher, "-w", ldaptest.TeacherPassword)
}
