package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
// push, each then working (or, for the reset, due for change) with kinit;
// then keystage serve's frontend makes a person added beside it, with their
// password, set off by the change alone, and a password changed with
// ldappasswd through Keystage's LDAP reaches AD the same way.
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
every = "1h"
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

	// keystage serve's Active Directory frontend: a person added with a
	// password by a command beside it is made in AD and their password set
	// there, set off by the change, without keystage ad being run.
	var serverLog syncBuffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: &serverLog, configPath: conf, dataDir: dir}
	st, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := e.directoryWithKeys(st, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := e.config()
	f, err := buildAD(e, d, cfg)
	if err != nil || f == nil {
		t.Fatalf("buildAD: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	if code, _, errOut := ks("Harbour-Kestrel-74\n", "account", "add", "--username", "kserve", "--role", "staff", "--given", "Kit", "--family", "Serve", "--password-stdin"); code != 0 {
		t.Fatalf("account add beside the server: %s", errOut)
	}
	for i := 0; ; i++ {
		ok, out := dc.Kinit(t, "kserve", "Harbour-Kestrel-74")
		if ok {
			break
		}
		if i > 120 {
			t.Fatalf("the server did not make kserve with their password in AD: %s\nits log:\n%s", out, serverLog.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	// ldappasswd to Keystage's LDAP, beside it: the new password reaches
	// AD through the same queue, pushed by the frontend on its own.
	needPrograms(t, "ldap-utils", "ldappasswd")
	cfg.LDAP.demo(dir)
	cfg.LDAP.Listen, cfg.LDAP.LDAPS = freeTCPPort(t), ""
	lf, err := buildLDAP(e, d, cfg)
	if err != nil || lf == nil {
		t.Fatalf("buildLDAP: %v", err)
	}
	ldapDone := make(chan error, 1)
	go func() { ldapDone <- lf.Serve(ctx) }()
	defer func() { cancel(); <-ldapDone }()
	const viaLDAP = "Lantern-Quiver-Vivid-58"
	for i := 0; ; i++ {
		ldapOut, err := exec.Command("ldappasswd", "-x", "-H", "ldap://"+cfg.LDAP.Listen, "-D", "uid=kserve,ou=people,"+cfg.LDAP.BaseDN,
			"-w", "Harbour-Kestrel-74", "-s", viaLDAP).CombinedOutput()
		if err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("ldappasswd: %v %s", err, ldapOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := 0; ; i++ {
		ok, out := dc.Kinit(t, "kserve", viaLDAP)
		if ok {
			break
		}
		if i > 120 {
			t.Fatalf("the password changed with ldappasswd did not reach AD: %s\nits log:\n%s", out, serverLog.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ok, out := dc.Kinit(t, "kserve", "Harbour-Kestrel-74"); ok {
		t.Errorf("the password before ldappasswd still works in AD: %s", out)
	}
}
