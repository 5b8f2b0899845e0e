package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// The demo's printed passwords follow the school's own rules, so that what
// a newcomer types is what the policy would accept.
func TestDemoPasswordsPassThePolicy(t *testing.T) {
	pols := passwords.DefaultPolicies()
	for _, c := range []struct {
		pw   string
		role directory.Role
	}{{demoStaffPassword, directory.RoleStaff}, {demoPupilPassword, directory.RolePupil}} {
		a := directory.Account{Username: "26jdoe", Role: c.role, GivenName: "Jane", FamilyName: "Doe", YearGroup: "7"}
		p := pols[directory.PolicyName(a)]
		if vs := p.Check(c.pw, passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName}); len(vs) > 0 {
			t.Errorf("demo %s password %q breaks the policy: %v", c.role, c.pw, vs)
		}
	}
}

// TestDemoHintsWorkAsPrinted runs the demo's printed audit export line as
// printed: it writes every event of the demo seeded today (the AUP
// signatures and consents are recorded today, with the form's date inside,
// so the trail stays in time order). The nslcd hint copies the LDAP
// certificate out of the 0700 data folder, which nslcd cannot read, and
// points tls_cacertfile at the copy.
func TestDemoHintsWorkAsPrinted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve")
	if code != 0 {
		t.Fatalf("demo: %d %s %s", code, out, errOut)
	}
	printed := func(what string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, what) {
				return strings.TrimSpace(l)
			}
		}
		t.Fatalf("the demo prints no %q line:\n%s", what, out)
		return ""
	}
	line := printed(" audit export --since ")
	args, ok := strings.CutPrefix(line, "go run ./cmd/keystage ")
	if !ok {
		t.Fatalf("audit export hint: %q", line)
	}
	code, since, errOut := keystage(t, "", strings.Fields(args)...)
	if code != 0 {
		t.Fatalf("%s: %d %s", line, code, errOut)
	}
	code, all, _ := keystage(t, "", "--data", dir, "audit", "export")
	if code != 0 {
		t.Fatal(code)
	}
	n, total := strings.Count(since, "\n"), strings.Count(all, "\n")
	if n != total || !strings.Contains(since, `"aup.sign"`) || !strings.Contains(since, `"consent.add"`) {
		t.Errorf("%q writes %d of the demo's %d events", line, n, total)
	}
	// The trail is in time order.
	var last time.Time
	for _, l := range strings.Split(strings.TrimSpace(all), "\n") {
		var e struct{ Time time.Time }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		if e.Time.Before(last) {
			t.Fatalf("the demo's trail goes back in time: %s after %s", e.Time, last)
		}
		last = e.Time
	}

	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("demo folder %v %v: want 0700, it holds the database", st.Mode(), err)
	}
	install := printed("sudo install -m 0644 ")
	f := strings.Fields(install)
	src, dst := f[len(f)-2], f[len(f)-1]
	if _, err := os.Stat(src); err != nil || !strings.HasPrefix(src, dir) {
		t.Errorf("the nslcd hint copies %s, not the demo's LDAP certificate: %v", src, err)
	}
	if strings.HasPrefix(dst, dir) || !strings.Contains(printed("tls_cacertfile"), "tls_cacertfile "+dst) {
		t.Errorf("nslcd is pointed at a certificate it cannot read: %s / %s", install, printed("tls_cacertfile"))
	}
}
