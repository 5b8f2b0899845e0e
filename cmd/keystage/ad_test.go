package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/downstream/ad/sambatest"
)

// The [active_directory] section's mistakes are reported together.
func TestADConfigProblems(t *testing.T) {
	cfg := defaults()
	cfg.ActiveDirectory.URL = "ldap://dc1.school.internal"
	cfg.ActiveDirectory.BaseDN = "DC=school,DC=internal"
	cfg.ActiveDirectory.OU = "OU=Keystage,DC=other,DC=internal"
	cfg.ActiveDirectory.Match = "mail"
	cfg.ActiveDirectory.GroupKinds = []string{"year", "houses"}
	cfg.ActiveDirectory.MassChange = 2
	got := strings.Join(cfg.validate(), "\n")
	for _, want := range []string{"want ldaps://", "active_directory.bind_dn", "active_directory.bind_password_file", "must be inside base_dn",
		`match "mail"`, `group_kinds "houses"`, "mass_change 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if code, _, errOut := keystage(t, "", "--data", t.TempDir(), "ad", "plan"); code != 1 || !strings.Contains(errOut, "no Active Directory is configured") {
		t.Errorf("ad plan with no domain: %d %s", code, errOut)
	}
}

// The commands against a real Samba AD DC, as a technician runs them:
// keystage init, people added by hand, ad plan (nothing changes), ad
// apply, a password given with account add and a reset pushed with ad
// push, each then working (or, for the reset, due for change) with kinit.
func TestADCommandsAgainstSamba(t *testing.T) {
	dc := sambatest.Start(t)
	admin := dc.Admin(t)
	ou := "OU=Keystage," + dc.Base
	r := ldap.NewAddRequest(ou, nil)
	r.Attribute("objectClass", []string{"top", "organizationalUnit"})
	if err := admin.Add(r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, pwFile, conf := filepath.Join(dir, "dc-ca.pem"), filepath.Join(dir, "ad-password"), filepath.Join(dir, "keystage.toml")
	for f, b := range map[string][]byte{ca: dc.CertPEM, pwFile: []byte(dc.AdminPW + "\n"), conf: []byte(fmt.Sprintf(`
[active_directory]
url = %q
ca_file = %q
server_name = %q
bind_dn = %q
bind_password_file = %q
base_dn = %q
ou = %q
every = "0s"
`, dc.URL(), ca, dc.IP, "CN=Administrator,CN=Users,"+dc.Base, pwFile, dc.Base, ou))} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ks := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--config", conf, "--data", dir}, args...)...)
	}
	// Without the key file a password cannot be queued for AD: refused,
	// rather than set in Keystage alone.
	if code, _, errOut := ks("Kestrel-Harbour-47\n", "account", "add", "--username", "jteach", "--role", "staff", "--given", "Jo", "--family", "Teach", "--password-stdin"); code == 0 || !strings.Contains(errOut, "no key file") {
		t.Fatalf("a password with no key file: %d %s", code, errOut)
	}
	if code, out, errOut := ks("", "init"); code != 0 {
		t.Fatalf("init: %s %s", out, errOut)
	}
	if code, _, errOut := ks("Kestrel-Harbour-47\n", "account", "add", "--username", "jteach2", "--role", "staff", "--given", "Jo", "--family", "Teach", "--password-stdin"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	if code, _, errOut := ks("", "account", "add", "--username", "pmorgan", "--role", "staff", "--given", "Pat", "--family", "Morgan"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	code, out, errOut := ks("", "ad", "plan")
	if code != 0 || !strings.Contains(out, "CN=jteach2,OU=Staff,"+ou) || !strings.Contains(out, "ou-create") || !strings.Contains(out, "nothing changed") {
		t.Fatalf("ad plan: %d %s %s", code, out, errOut)
	}
	if err := exec.Command("samba-tool", "user", "show", "jteach2", "-s", dc.Conf).Run(); err == nil {
		t.Fatal("ad plan changed the domain")
	}
	code, out, errOut = ks("", "ad", "apply")
	if code != 0 || !strings.Contains(out, "passwords: 1 set in Active Directory") {
		t.Fatalf("ad apply: %d %s %s", code, out, errOut)
	}
	if ok, out := dc.Kinit(t, "jteach2", "Kestrel-Harbour-47"); !ok {
		t.Fatalf("kinit with the password given to account add: %s", out)
	}
	code, _, errOut = ks("", "password", "reset", "pmorgan", "--out", filepath.Join(dir, "slip.html"))
	if code != 0 {
		t.Fatalf("password reset: %s", errOut)
	}
	if code, out, errOut := ks("", "ad", "push"); code != 0 || !strings.Contains(out, "passwords: 1 set") {
		t.Fatalf("ad push: %d %s %s", code, out, errOut)
	}
	if got := dc.UserShow(t, "pmorgan")["pwdLastSet"]; len(got) != 1 || got[0] != "0" {
		t.Errorf("a reset's pwdLastSet = %v, want 0 (must change at next logon)", got)
	}
	if code, out, _ := ks("", "ad", "plan"); code != 0 || !strings.Contains(out, "already holds what Keystage holds") {
		t.Errorf("ad plan after apply: %s", out)
	}
}
