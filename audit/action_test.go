package audit

import "testing"

// A target is read back as it was built, and only as the kind it is: the
// register and the change feed rely on "account:" never matching a
// target of another kind that happens to start the same.
func TestTargetReadsBackOnlyItsKind(t *testing.T) {
	for _, tc := range []struct {
		target, kind, name string
		ok                 bool
	}{
		{AccountTarget("jsmith"), KindAccount, "jsmith", true},
		{Target(KindGroup, "7A"), KindGroup, "7A", true},
		{Target(KindGroup, "7A"), KindAccount, "", false},
		{"accounts:jsmith", KindAccount, "", false},
		{"account", KindAccount, "", false},
		{AccountTarget(""), KindAccount, "", true},
		{AccountTarget("a:b"), KindAccount, "a:b", true},
		{"keyring", KindNAS, "", false},
	} {
		name, ok := TargetName(tc.target, tc.kind)
		if name != tc.name || ok != tc.ok {
			t.Errorf("TargetName(%q, %q) = %q, %v; want %q, %v", tc.target, tc.kind, name, ok, tc.name, tc.ok)
		}
	}
	if got := UserActor("zwright"); got != "user:zwright" {
		t.Errorf("UserActor = %q", got)
	}
	if got := JobApplied("sync"); got != "sync.apply" {
		t.Errorf("JobApplied = %q", got)
	}
}
