package directory_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"keystage.dev/keystage/audit"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/ldif"
	"keystage.dev/keystage/passwords"
)

func readLDIF(t *testing.T, s string) []ldif.Entry {
	t.Helper()
	r := ldif.NewReader(strings.NewReader(s))
	var out []ldif.Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

// b64 is how slapcat and ldbsearch write a value.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestImportPlanAndApply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	withMIS := func(name, mis string) directory.Account {
		a := staff(name)
		a.MISID, a.Source = mis, directory.SourceMIS
		return a
	}
	f.account(t, withMIS("jsmith", "S100"), "")
	f.account(t, withMIS("akhan", "S101"), "")
	f.account(t, withMIS("haspw", "S102"), "Kestrel-Harbour-47")
	f.account(t, withMIS("yesok", "S106"), "")
	nt := passwords.NTHash("Old-Domain-Pass9")
	in := "dn: dc=school,dc=test\nobjectClass: dcObject\n\n" +
		"dn: uid=jsmith,ou=people,dc=school,dc=test\nuid: jsmith\nemployeeNumber: S100\nuserPassword:: " + b64("{CRYPT}$1$/YWscWR0$8ZcUSu/rs3etlYWoID4Te0") + "\n\n" +
		"dn: CN=Aisha Khan,CN=Users,DC=school,DC=test\nsAMAccountName: akhan\nemployeeNumber: S101\nuserAccountControl: 512\nunicodePwd:: " + base64.StdEncoding.EncodeToString(nt) + "\n\n" +
		"dn: uid=haspw,dc=school,dc=test\nuid: haspw\nemployeeNumber: S102\nuserPassword: {SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc\n\n" +
		// mkpasswd -m yescrypt -R 11: 1 GiB, above passwords.MaxYescryptMemory.
		"dn: uid=yes,dc=school,dc=test\nuid: yes\nemployeeNumber: S103\nuserPassword: {CRYPT}$y$jFT$EfMmZFZXld95thHfxVumm/$We/KDbQvJy0DoYtfwxBZPv35j49u5ePAu/.5CfasgR.\n\n" +
		// mkpasswd -m yescrypt -R 1 Correct-Horse7
		"dn: uid=yesok,dc=school,dc=test\nuid: yesok\nemployeeNumber: S106\nuserPassword: {CRYPT}$y$j75$nLbosgGqtJ/y4isxUKeK70$US/GXG2ycsbqZfXvUp1wzbq/HBq2Ng2KB9bMiLN3JE/\n\n" +
		"dn: CN=Left,CN=Users,DC=school,DC=test\nsAMAccountName: left\nemployeeNumber: S104\nuserAccountControl: 514\nunicodePwd:: " + base64.StdEncoding.EncodeToString(nt) + "\n\n" +
		"dn: CN=LAB01,CN=Computers,DC=school,DC=test\nobjectClass: computer\nsAMAccountName: LAB01$\n\n" +
		"dn: CN=krbtgt,CN=Users,DC=school,DC=test\nsAMAccountName: krbtgt\nunicodePwd:: " + base64.StdEncoding.EncodeToString(nt) + "\n\n" +
		"dn: uid=governor,dc=school,dc=test\nuid: governor\ngivenName: Pat\nsn: Jones\nuserPassword: {SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc\n\n" +
		"dn: uid=plain,dc=school,dc=test\nuid: plain\nemployeeNumber: S105\nuserPassword: {SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n\n" +
		"dn: uid=dup,dc=school,dc=test\nuid: dup\nemployeeNumber: S100\nuserPassword: {SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc\n"
	entries := readLDIF(t, in)

	plan, err := f.d.PlanImport(ctx, entries, directory.ImportOptions{Match: directory.MatchMISID, WiFiFromNT: true})
	if err != nil {
		t.Fatal(err)
	}
	took := map[string]directory.ImportTake{}
	for _, tk := range plan.Take {
		took[tk.Username] = tk
	}
	if len(took) != 3 || took["yesok"].Scheme != passwords.SchemeYescrypt || took["jsmith"].Scheme != passwords.SchemeMD5Crypt || took["akhan"].Scheme != passwords.SchemeNT || len(took["akhan"].NTHash) != 16 {
		t.Fatalf("take: %+v", plan.Take)
	}
	why := map[string]string{}
	for _, ig := range plan.Ignored {
		why[ig.DN] = ig.Reason
	}
	for dn, want := range map[string]string{
		"dc=school,dc=test":                       "not a user entry",
		"uid=haspw,dc=school,dc=test":             "already has a Keystage password",
		"uid=yes,dc=school,dc=test":               "yescrypt ({CRYPT}$y$) with parameters above",
		"CN=Left,CN=Users,DC=school,DC=test":      "disabled in Active Directory",
		"CN=LAB01,CN=Computers,DC=school,DC=test": "computer account",
		"CN=krbtgt,CN=Users,DC=school,DC=test":    "built-in account",
		"uid=governor,dc=school,dc=test":          "no employeeNumber",
		"uid=plain,dc=school,dc=test":             "cannot verify",
		"uid=dup,dc=school,dc=test":               "same account (jsmith)",
	} {
		if !strings.Contains(why[dn], want) {
			t.Errorf("%s: reason %q, want it to say %q", dn, why[dn], want)
		}
	}
	if len(plan.Ignored) != 9 {
		t.Errorf("%d ignored: %+v", len(plan.Ignored), plan.Ignored)
	}

	// --create-missing makes the governor a manual account.
	plan2, err := f.d.PlanImport(ctx, entries, directory.ImportOptions{Match: directory.MatchMISID, CreateMissing: true, WiFiFromNT: true})
	if err != nil {
		t.Fatal(err)
	}
	var gov *directory.ImportTake
	for i := range plan2.Take {
		if plan2.Take[i].Username == "governor" {
			gov = &plan2.Take[i]
		}
	}
	if gov == nil || !gov.Create || gov.Account.Source != directory.SourceManual || gov.Account.FamilyName != "Jones" {
		t.Fatalf("governor not planned as a manual account: %+v", plan2.Take)
	}

	if err := f.d.ApplyImport(ctx, "tech", plan2); err != nil {
		t.Fatal(err)
	}
	// Each signs in with the old password; the hash is then argon2id.
	for user, pw := range map[string]string{"jsmith": "Correct-Horse7", "akhan": "Old-Domain-Pass9", "governor": "Correct-Horse7", "yesok": "Correct-Horse7"} {
		if _, err := f.d.Authenticate(ctx, user, pw+"x", directory.ServiceLDAP, directory.Origin{}); err == nil {
			t.Errorf("%s: a wrong password signed in", user)
		}
		if _, err := f.d.Authenticate(ctx, user, pw, directory.ServiceLDAP, directory.Origin{}); err != nil {
			t.Errorf("%s: old password refused: %v", user, err)
		}
		creds, err := f.s.Credentials(ctx, mustGet(t, f.s, user).ID, directory.CredPassword)
		if err != nil || len(creds) != 1 || !strings.HasPrefix(creds[0].Secret, "$argon2id$") {
			t.Errorf("%s: not upgraded to argon2id: %v", user, err)
		}
	}
	// akhan's NT hash is her Wi-Fi credential, sealed.
	sec, err := f.d.WiFiSecret(ctx, mustGet(t, f.s, "akhan"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := directory.WiFiNTHash(sec); !ok || string(got) != string(nt) {
		t.Errorf("Wi-Fi credential of akhan is not the imported NT hash")
	}
	wc, _ := f.s.Credentials(ctx, mustGet(t, f.s, "akhan").ID, directory.CredWiFi)
	if len(wc) != 1 || strings.Contains(wc[0].Secret, "nt-hash") || wc[0].KeyID == "" {
		t.Errorf("Wi-Fi credential not sealed: %+v", wc)
	}
	if _, err := f.d.WiFiSecret(ctx, mustGet(t, f.s, "jsmith")); err == nil {
		t.Error("jsmith had no NT hash but got a Wi-Fi credential")
	}
	// The events say what was taken, never the hash.
	evs, err := f.s.AuditEvents(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	imports := 0
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		for _, secret := range []string{"8ZcUSu", "wpikYh", "US/GXG2y", base64.StdEncoding.EncodeToString(nt), strings.ToLower(strings.TrimPrefix(mustEnc(t, nt), "{NT}"))} {
			if strings.Contains(string(b), secret) {
				t.Errorf("event %s holds a hash", ev.Action)
			}
		}
		if ev.Action == audit.ActionPasswordImport {
			imports++
		}
	}
	if imports != 4 {
		t.Errorf("%d import events, want 4", imports)
	}
	// Applying the same plan again fails whole: they have passwords now.
	if err := f.d.ApplyImport(ctx, "tech", plan); err == nil {
		t.Error("a stale plan was applied")
	}
}

func mustEnc(t *testing.T, nt []byte) string {
	t.Helper()
	s, err := passwords.EncodeNTHash(nt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportMatchUsernameAndEmployeeID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := staff("jsmith")
	a.MISID, a.Source = "E7", directory.SourceMIS
	f.account(t, a, "")
	in := "dn: CN=J Smith,DC=x\nsAMAccountName: JSmith\nemployeeID: E7\nuserPassword: {SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc\n"
	for _, m := range []directory.ImportMatch{directory.MatchUsername, directory.MatchEmployeeID} {
		plan, err := f.d.PlanImport(ctx, readLDIF(t, in), directory.ImportOptions{Match: m})
		if err != nil || len(plan.Take) != 1 || plan.Take[0].Username != "jsmith" {
			t.Errorf("%s: %+v %v", m, plan, err)
		}
	}
	if _, err := directory.ParseImportMatch("email"); err == nil {
		t.Error("an unknown match was accepted")
	}
}
