package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// needPrograms skips a real-peer test when a program is missing, and fails
// it in CI, which installs them all (.ci/run).
func needPrograms(t *testing.T, pkg string, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must install %s", p, pkg)
			}
			t.Skipf("%s not installed (apt-get install %s)", p, pkg)
		}
	}
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// run1 runs a program and returns its standard output.
func run1(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errOut.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// importServers serves LDAP and RADIUS, as keystage demo configures them,
// on the store in dir; it returns the LDAP URL, the base DN and the RADIUS
// authentication address.
func importServers(t *testing.T, dir string) (ldapURL, baseDN, radiusAuth string) {
	t.Helper()
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: io.Discard, dataDir: dir, demoDir: dir}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir)
	cfg.LDAP.Listen, cfg.LDAP.LDAPS = freeTCPPort(t), "127.0.0.1:0"
	cfg.RADIUS.demo(dir)
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	e.cfg = cfg
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, build := range []func() (*server.Frontend, error){
		func() (*server.Frontend, error) { return buildLDAP(e, d, cfg) },
		func() (*server.Frontend, error) { return buildRADIUS(e, d, cfg) },
	} {
		f, err := build()
		if err != nil || f == nil {
			cancel()
			t.Fatalf("build: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- f.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	return "ldap://" + cfg.LDAP.Listen, cfg.LDAP.BaseDN, cfg.RADIUS.AuthAddress
}

// demoSchool makes a demo school with no server running, for an import.
func demoSchool(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	return dir
}

// passwordHash is the login hash stored for a person now.
func passwordHash(t *testing.T, dir, user string) string {
	t.Helper()
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dataDir: dir}
	s, err := e.openStore(true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.AccountByUsername(e.ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := s.Credentials(e.ctx, a.ID, directory.CredPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		if c.Live(time.Now()) {
			return c.Secret
		}
	}
	return ""
}

// ldapBind binds to Keystage's LDAP as the service account uid=user with password, with
// ldapwhoami; it reports whether the bind succeeded, and what it printed.
func ldapBind(url, baseDN, user, password string) (bool, string) {
	out, err := exec.Command("ldapwhoami", "-x", "-H", url, "-D", "uid="+user+",ou=services,"+baseDN, "-w", password).CombinedOutput()
	return err == nil, string(out)
}

// TestImportFromSlapcat takes over the people of a real OpenLDAP: a
// throw-away slapd on loopback, people added over LDAP with a hash of
// each kind made by slappasswd and mkpasswd, the database written out by
// slapcat, imported with keystage account import, and each person then
// binds to Keystage's LDAP with their old password, after which their
// hash is argon2id. That includes yescrypt (mkpasswd's default, Debian's
// crypt(3) default); a yescrypt hash asking for more memory than Keystage
// computes is listed as left, with the reason.
func TestImportFromSlapcat(t *testing.T) {
	needPrograms(t, "slapd ldap-utils whois", "slapd", "slapcat", "slappasswd", "ldapadd", "ldapwhoami", "mkpasswd")
	sl := t.TempDir()
	const suffix, rootDN, rootPW = "dc=oldschool,dc=test", "cn=admin,dc=oldschool,dc=test", "old-root-secret"
	if err := os.MkdirAll(filepath.Join(sl, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(sl, "slapd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
database mdb
maxsize 104857600
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
`, sl, suffix, rootDN, rootPW)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeTCPPort(t)
	slapURL := "ldap://" + addr
	slapd := exec.Command("slapd", "-d", "0", "-f", conf, "-h", slapURL+"/")
	var slapdLog bytes.Buffer
	slapd.Stdout, slapd.Stderr = &slapdLog, &slapdLog
	if err := slapd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		slapd.Process.Kill()
		slapd.Wait()
	})
	for i := 0; ; i++ {
		if exec.Command("ldapwhoami", "-x", "-H", slapURL, "-D", rootDN, "-w", rootPW).Run() == nil {
			break
		}
		if i > 300 {
			t.Fatalf("slapd did not start:\n%s", slapdLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// One person a scheme, each with their own password.
	people := []struct{ user, scheme, password, hash string }{
		{"assha", "ssha", "Old-Pass-ssha1", ""},
		{"bssha256", "ssha256", "Old-Pass-ssha256", ""},
		{"cssha512", "ssha512", "Old-Pass-ssha512", ""},
		{"dmd5", "crypt-md5", "Old-Pass-md5", ""},
		{"esha256", "crypt-sha256", "Old-Pass-sha256", ""},
		{"fsha512", "crypt-sha512", "Old-Pass-sha512", ""},
		{"gargon", "argon2i", "Old-Pass-argon2", ""},
		{"hyes", "crypt-yescrypt", "Old-Pass-yescrypt", ""},
		// N=2^40, r=32: far above passwords.MaxYescryptMemory (made by
		// hand; no tool would spend the memory).
		{"iyesbig", "yescrypt-huge", "", "{CRYPT}$y$jbT$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4"},
	}
	var ldif strings.Builder
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Old School\ndc: oldschool\n\n", suffix)
	fmt.Fprintf(&ldif, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", suffix)
	for i := range people {
		p := &people[i]
		switch p.scheme {
		case "ssha":
			p.hash = run1(t, "", "slappasswd", "-h", "{SSHA}", "-s", p.password)
		case "ssha256":
			p.hash = run1(t, "", "slappasswd", "-o", "module-load=pw-sha2", "-h", "{SSHA256}", "-s", p.password)
		case "ssha512":
			p.hash = run1(t, "", "slappasswd", "-o", "module-load=pw-sha2", "-h", "{SSHA512}", "-s", p.password)
		case "argon2i":
			p.hash = run1(t, "", "slappasswd", "-o", "module-load=argon2", "-h", "{ARGON2}", "-s", p.password)
		case "yescrypt-huge":
		default:
			method := map[string]string{"crypt-md5": "md5crypt", "crypt-sha256": "sha256crypt", "crypt-sha512": "sha512crypt", "crypt-yescrypt": "yescrypt"}[p.scheme]
			p.hash = "{CRYPT}" + run1(t, "", "mkpasswd", "-m", method, p.password)
		}
		fmt.Fprintf(&ldif, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\ngivenName: Old\nuserPassword: %s\n\n", p.user, suffix, p.user, p.user, p.user, p.hash)
	}
	run1(t, ldif.String(), "ldapadd", "-x", "-H", slapURL, "-D", rootDN, "-w", rootPW)
	export := filepath.Join(t.TempDir(), "people.ldif")
	run1(t, "", "slapcat", "-f", conf, "-l", export)

	// Keystage: a school where assha is already an account (matched by
	// username), and everyone else is made by --create-missing.
	dir := demoSchool(t)
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "assha", "--role", "service", "--given", "Ann", "--family", "Ssha"); code != 0 {
		t.Fatal(errOut)
	}
	// Service accounts: the demo's gate asks staff to sign its AUP first,
	// which is not what this test is about.
	code, plan, errOut := keystage(t, "", "--data", dir, "account", "import", export, "--match", "username", "--create-missing", "--role", "service")
	if code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	for _, p := range people[:8] {
		if !strings.Contains(plan, p.user) || !strings.Contains(plan, p.scheme) {
			t.Errorf("the plan does not take over %s (%s):\n%s", p.user, p.scheme, plan)
		}
	}
	if strings.Contains(plan, "uid=hyes,ou=people,"+suffix+": ") {
		t.Errorf("the plan lists the yescrypt person as left:\n%s", plan)
	}
	if !strings.Contains(plan, "uid=iyesbig,ou=people,"+suffix+": yescrypt") || !strings.Contains(plan, "first password") {
		t.Errorf("the plan does not list the over-sized yescrypt hash as left, with what to do:\n%s", plan)
	}
	if !strings.Contains(plan, "ou=people,"+suffix+": not a user entry") {
		t.Errorf("the plan does not list the container as left:\n%s", plan)
	}
	if h := passwordHash(t, dir, "assha"); h != "" {
		t.Fatal("the plan stored a password")
	}
	if code, _, errOut = keystage(t, "", "--data", dir, "account", "import", export, "--match", "username", "--create-missing", "--role", "service", "--apply"); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}

	url, base, _ := importServers(t, dir)
	for _, p := range people[:8] {
		if ok, out := ldapBind(url, base, p.user, p.password+"-wrong"); ok {
			t.Errorf("%s: a wrong password bound: %s", p.user, out)
		}
		if ok, out := ldapBind(url, base, p.user, p.password); !ok {
			t.Errorf("%s (%s): the old password did not bind: %s", p.user, p.scheme, out)
			continue
		}
		if h := passwordHash(t, dir, p.user); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s: after the sign-in the hash is %.12s…, want argon2id", p.user, h)
		}
		// And again, now against argon2id.
		if ok, out := ldapBind(url, base, p.user, p.password); !ok {
			t.Errorf("%s: the old password did not bind after the upgrade: %s", p.user, out)
		}
	}
}

// TestImportFromSambaAD takes over the people of a real Samba Active
// Directory: Debian's samba provisions a throw-away domain under a
// temporary directory (no daemon is started), samba-tool makes people,
// ldbsearch of the DC's sam.ldb exports their NT hashes, and keystage
// account import --wifi-from-nt-hash takes them over. Each person then
// binds to Keystage's LDAP with their old password (after which the login
// hash is argon2id), and PEAP-MSCHAPv2 (eapol_test) and MS-CHAP (radtest)
// accept the same password, before and after. The disabled user, the DC's machine account and the
// built-in accounts are listed as left.
func TestImportFromSambaAD(t *testing.T) {
	needPrograms(t, "samba samba-ad-provision samba-dsdb-modules samba-vfs-modules ldb-tools freeradius-utils eapoltest", "samba-tool", "ldbsearch", "radtest", "ldapwhoami", "eapol_test")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("samba-tool domain provision needs root")
		}
		t.Skip("samba-tool domain provision needs root")
	}
	sam := t.TempDir()
	smbConf := filepath.Join(sam, "etc", "smb.conf")
	began := time.Now()
	run1(t, "", "samba-tool", "domain", "provision", "--use-rfc2307", "--realm", "OLDSCHOOL.TEST", "--domain", "OLDSCHOOL",
		"--adminpass", "Adm1n-Pass-xyz!", "--targetdir", sam, "--server-role", "dc", "--dns-backend", "NONE")
	t.Logf("samba-tool domain provision took %s", time.Since(began).Round(100*time.Millisecond))
	people := map[string]string{"pjones": "Wifi-Old-Pass7", "oldkhan": "Old-Dom41n-Pass"}
	for user, pw := range people {
		run1(t, "", "samba-tool", "user", "create", user, pw, "-s", smbConf, "--given-name=Old", "--surname="+user)
	}
	run1(t, "", "samba-tool", "user", "create", "gone", "Gone-Pass-77x", "-s", smbConf)
	run1(t, "", "samba-tool", "user", "disable", "gone", "-s", smbConf)

	export := filepath.Join(t.TempDir(), "ad.ldif")
	out := run1(t, "", "ldbsearch", "-H", filepath.Join(sam, "private", "sam.ldb"), "(objectClass=user)",
		"sAMAccountName", "employeeID", "userAccountControl", "isCriticalSystemObject", "objectClass", "givenName", "sn", "unicodePwd")
	if err := os.WriteFile(export, []byte(out+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(t.TempDir(), "pjones.ldif")
	out = run1(t, "", "samba-tool", "user", "getpassword", "pjones", "--attributes=sAMAccountName,unicodePwd", "-s", smbConf)
	if err := os.WriteFile(one, []byte(out+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	dir := demoSchool(t)
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "pjones", "--role", "service"); code != 0 {
		t.Fatal(errOut)
	}
	// samba-tool's shape: one person, taken over by name.
	code, plan, errOut := keystage(t, "", "--data", dir, "account", "import", one, "--match", "username")
	if code != 0 || !strings.Contains(plan, "pjones") || !strings.Contains(plan, " nt ") {
		t.Fatalf("samba-tool getpassword's LDIF: %d\n%s%s", code, plan, errOut)
	}
	args := []string{"--data", dir, "account", "import", export, "--match", "username", "--create-missing", "--role", "service", "--wifi-from-nt-hash"}
	code, plan, errOut = keystage(t, "", args...)
	if code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	for dn, why := range map[string]string{
		"CN=gone,CN=Users,DC=oldschool,DC=test":          "disabled in Active Directory",
		"CN=krbtgt,CN=Users,DC=oldschool,DC=test":        "a built-in account",
		"CN=Guest,CN=Users,DC=oldschool,DC=test":         "a built-in account",
		"CN=Administrator,CN=Users,DC=oldschool,DC=test": "a built-in account",
	} {
		if !strings.Contains(plan, dn+": "+why) {
			t.Errorf("the plan does not leave %s (%s):\n%s", dn, why, plan)
		}
	}
	if !strings.Contains(plan, ",OU=Domain Controllers,DC=oldschool,DC=test: a computer account") {
		t.Errorf("the DC's machine account is not left:\n%s", plan)
	}
	if code, _, errOut = keystage(t, "", append(args, "--apply")...); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	if h := passwordHash(t, dir, "oldkhan"); !strings.HasPrefix(h, "{NT}") {
		t.Fatalf("oldkhan's login hash is %.5s…, want the NT hash", h)
	}

	url, base, radius := importServers(t, dir)
	mschap := func(user, pw string) string {
		out, _ := exec.Command("radtest", "-t", "mschap", user, pw, radius, "0", demoNASSecret).CombinedOutput()
		return string(out)
	}
	// PEAP with MS-CHAPv2 inside, as Windows and phones join the Wi-Fi.
	peap := func(user, pw string) (bool, string) {
		hints, err := eapolConfigs(t.TempDir(), user, pw, filepath.Join(dir, demoCA), demoRADIUSName, radius)
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Fields(hints[0]) // peap-mschapv2
		out, err := exec.Command(w[0], w[1:9]...).CombinedOutput()
		return err == nil && strings.Contains(string(out), "SUCCESS"), string(out)
	}
	for user, pw := range people {
		if ok, out := peap(user, pw); !ok {
			t.Errorf("%s: PEAP-MSCHAPv2 with the old password before any sign-in:\n%.3000s", user, out)
		}
		if ok, _ := peap(user, pw+"x"); ok {
			t.Errorf("%s: PEAP-MSCHAPv2 with a wrong password succeeded", user)
		}
		if out := mschap(user, pw); !strings.Contains(out, "Received Access-Accept") {
			t.Errorf("%s: MS-CHAP with the old password before any sign-in:\n%s", user, out)
		}
		if out := mschap(user, pw+"x"); !strings.Contains(out, "Received Access-Reject") {
			t.Errorf("%s: MS-CHAP with a wrong password:\n%s", user, out)
		}
		if ok, out := ldapBind(url, base, user, pw+"x"); ok {
			t.Errorf("%s: a wrong password bound: %s", user, out)
		}
		if ok, out := ldapBind(url, base, user, pw); !ok {
			t.Errorf("%s: the old password did not bind: %s", user, out)
			continue
		}
		if h := passwordHash(t, dir, user); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s: after the sign-in the login hash is %.5s…, want argon2id", user, h)
		}
		if ok, out := peap(user, pw); !ok {
			t.Errorf("%s: PEAP-MSCHAPv2 after the login hash was upgraded:\n%.3000s", user, out)
		}
	}
}
