package downstream

import (
	"testing"

	"keystage.dev/keystage/audit"
)

// Every action Active Directory's changes are recorded with is one of the
// typed constants in audit/action.go, which readers of the trail match.
func TestADActionsAreTyped(t *testing.T) {
	s := &Sync{cfg: Config{Name: "ad"}}
	for kind, want := range map[string]audit.Action{
		string(KindOU): audit.ActionADOUCreate, string(KindAdopt): audit.ActionADAdopt, string(KindCreate): audit.ActionADCreate,
		string(KindUpdate): audit.ActionADUpdate, string(KindMove): audit.ActionADMove, string(KindEnable): audit.ActionADEnable,
		string(KindDisable): audit.ActionADDisable, string(KindDelete): audit.ActionADDelete, string(KindGroupCreate): audit.ActionADGroupCreate,
		string(KindGroupMembers): audit.ActionADGroupMembers, string(KindGroupDelete): audit.ActionADGroupDelete,
		"password": audit.ActionADPassword, "password_failed": audit.ActionADPasswordFailed,
	} {
		if got := s.action(kind); got != want {
			t.Errorf("action of %s = %q, want %q", kind, got, want)
		}
	}
	if audit.JobApplied("ad") != "ad.apply" {
		t.Error("the run's action")
	}
}
