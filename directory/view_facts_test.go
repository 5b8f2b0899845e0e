package directory

import (
	"reflect"
	"testing"
	"time"
)

// allSet fails unless every field of the struct x points to is set, so
// that a field added to one of the facts a View holds fails
// TestViewFactsRoundTrip until the fixture fills it, and then until its
// encoding carries it.
func allSet(t *testing.T, x any) {
	t.Helper()
	v := reflect.ValueOf(x).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("%s.%s is not set in the fixture: set it, and encode it in view_facts.go", v.Type().Name(), v.Type().Field(i).Name)
		}
	}
}

// TestViewFactsRoundTrip: every field of every fact a View holds comes
// back from its encoding exactly as the store gave it, == for times
// included, with zero times, times in Local and times finer than the
// store's microseconds.
func TestViewFactsRoundTrip(t *testing.T) {
	at := func(us int64) time.Time { return time.UnixMicro(us).UTC() }
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	full := accountFacts{
		Account: Account{
			ID: 4_000_000_001, UUID: "5f0c3c4e-8d1a-4b6e-9d7a-0d5d9c1e2f3a", Username: "26jsmith",
			Role: RolePupil, Source: SourceMIS, MISID: "A1234", School: "north",
			AlsoSchools: []string{"south", "west"}, GivenName: "John", FamilyName: "Smith", DisplayName: "Jack Smith",
			LegalNameWithheld: true, Email: "26jsmith@example.org", YearGroup: "7", RegGroup: "7A",
			StartDate: day, LeaveDate: day.AddDate(5, 0, 0), Status: "archived", DisabledAt: at(1_790_000_000_123_456),
			DisableReason: "left", MustChangePassword: true, UIDNumber: 120_001, GIDNumber: -7,
			HomeDirectory: "/home/26jsmith", LoginShell: "/bin/zsh",
			CreatedAt: at(1_780_000_000_000_001), UpdatedAt: at(-1),
		},
		Credentials: []Credential{
			{ID: 9, AccountID: 4_000_000_001, Kind: CredWiFi, Name: "laptop", Secret: "sealed-ü\x00\xff", KeyID: "k2",
				CreatedAt: at(1), ExpiresAt: at(2), RevokedAt: at(3), LastUsed: at(4)},
			{ID: 8, AccountID: 4_000_000_001, Kind: CredPassword, Name: "login", Secret: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", KeyID: "-",
				CreatedAt: at(5), ExpiresAt: at(1 << 62), RevokedAt: at(-1 << 62), LastUsed: at(8)},
			{ID: 7, AccountID: 4_000_000_001, Kind: CredPassword, Name: "old", Secret: "{SSHA}xyz", KeyID: "k1",
				CreatedAt: time.Unix(9, 1).UTC(), ExpiresAt: time.Unix(10, 0), RevokedAt: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
				LastUsed: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		},
		Suspensions: []Suspension{{ID: 11, AccountID: 4_000_000_001, Scope: SuspendInternet, From: at(11), Until: at(12),
			Reason: "incident", IncidentRef: "INC-1", CreatedBy: "head", CreatedAt: at(13), LiftedAt: at(14), LiftedBy: "dsl",
			LiftRole: "safeguarding", TalkWith: "parent", TalkAt: at(15), TalkNote: "agreed"}},
		Signatures: []Signature{{ID: 21, AccountID: 4_000_000_001, DocumentID: 3, Digest: "sha256:ab", SignedAt: at(21),
			Method: SignPortal, Address: "192.0.2.1", UserAgent: "Firefox", FormDate: day, Witness: "teacher", RecordedBy: "office",
			NoticeAcknowledged: true}},
		Consents: []Consent{{ID: 31, AccountID: 4_000_000_001, DocumentID: 4, ParentName: "Ann Smith", Relationship: "mother",
			Decision: ConsentRefused, GivenAt: at(31), Method: SignPaper, RecordedBy: "office", WithdrawnAt: at(32)}},
		Approvals: []Approval{{ID: 41, AccountID: 4_000_000_001, Kind: ApprovalNetwork, Device: "aa-bb-cc-dd-ee-ff", VLAN: "30",
			FilterID: "sixth", PasswordPolicy: "long", Reason: "project", ApprovedBy: "head", RecordedBy: "it",
			CreatedAt: at(41), Until: at(42), RevokedAt: at(43), RevokedBy: "it2"}},
	}
	allSet(t, &full)
	allSet(t, &full.Account)
	for _, x := range []any{&full.Credentials[0], &full.Suspensions[0], &full.Signatures[0], &full.Consents[0], &full.Approvals[0]} {
		allSet(t, x)
	}
	bare := accountFacts{Account: Account{ID: 2, Username: "x", UIDNumber: 3}}
	local := full
	local.Account.CreatedAt, local.Account.StartDate = time.Unix(1_780_000_000, 5000), time.Time{}
	nanos := full
	nanos.Account.CreatedAt = time.Unix(1_780_000_000, 7).UTC() // no base for the others' microseconds
	for name, f := range map[string]accountFacts{"every field": full, "none": bare, "Local and zero times": local, "nanoseconds": nanos} {
		var w factsWriter
		s := w.encode(&f)
		got := accountFacts{Account: factsAccount(s, f.Account.Username, f.Account.AlsoSchools)}
		got.Credentials = append(factsCredentials(s, CredWiFi), factsCredentials(s, CredPassword)...)
		got.Suspensions, got.Signatures, got.Consents, got.Approvals = factsSuspensions(s), factsSignatures(s), factsConsents(s), factsApprovals(s)
		if !reflect.DeepEqual(got, f) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", name, got, f)
		}
		if got.Account.CreatedAt != f.Account.CreatedAt || got.Account.StartDate != f.Account.StartDate {
			t.Errorf("%s: times differ under ==", name)
		}
		if id, uid := factsAccountIDs(s); id != f.Account.ID || uid != f.Account.UIDNumber {
			t.Errorf("%s: ids %d %d", name, id, uid)
		}
	}
}
