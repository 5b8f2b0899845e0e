package main

import (
	"strings"
	"testing"
)

// Legal holds from the command line: set, shown and lifted only by the
// safeguarding and data-protection roles, each change audited.
func TestHoldCommands(t *testing.T) {
	_, ks := school(t)
	for _, args := range [][]string{
		{"account", "add", "--username", "hdpo", "--role", "staff", "--given", "Dee", "--family", "Officer"},
		{"account", "add", "--username", "htech", "--role", "staff", "--given", "Tam", "--family", "Tech"},
		{"group", "add", "portal-data-protection"},
		{"group", "add", "portal-technicians"},
		{"group", "members", "add", "portal-data-protection", "hdpo"},
		{"group", "members", "add", "portal-technicians", "htech"},
	} {
		if code, _, errOut := ks("", args...); code != 0 && !strings.Contains(errOut, "already exists") {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	t.Setenv("KEYSTAGE_ACTOR", "htech")
	if code, _, errOut := ks("", "hold", "set", "apupil", "--kind", "subject-access", "--reason", "SAR"); code != 1 || !strings.Contains(errOut, "data-protection role") {
		t.Errorf("a technician sets a hold: %d %s", code, errOut)
	}
	if code, _, errOut := ks("", "hold", "list"); code != 1 || !strings.Contains(errOut, "a staff role is required") {
		t.Errorf("a technician lists holds: %d %s", code, errOut)
	}
	t.Setenv("KEYSTAGE_ACTOR", "hdpo")
	if code, _, errOut := ks("", "hold", "set", "apupil", "--kind", "litigation", "--reason", "SAR"); code != 1 || !strings.Contains(errOut, "not \"litigation\"") {
		t.Errorf("an unknown kind: %d %s", code, errOut)
	}
	if code, out, errOut := ks("", "hold", "set", "apupil", "--kind", "subject-access", "--reason", "SAR from a parent", "--ref", "SAR-12"); code != 0 || !strings.Contains(out, "nothing purges their records") {
		t.Fatalf("set: %d %s %s", code, out, errOut)
	}
	if code, out, _ := ks("", "hold", "list"); code != 0 || !strings.Contains(out, "apupil") || !strings.Contains(out, "SAR from a parent (ref SAR-12)") || !strings.Contains(out, "open") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out, _ := ks("", "account", "show", "apupil"); code != 0 || !strings.Contains(out, "legal hold:") || !strings.Contains(out, "SAR from a parent SAR-12") {
		t.Errorf("account show to the DPO: %d %s", code, out)
	}
	t.Setenv("KEYSTAGE_ACTOR", "htech")
	if code, out, _ := ks("", "account", "show", "apupil"); code != 0 || strings.Contains(out, "legal hold") {
		t.Errorf("account show to a technician shows the hold: %d %s", code, out)
	}
	t.Setenv("KEYSTAGE_ACTOR", "hdpo")
	if code, _, errOut := ks("", "hold", "lift", "apupil"); code != 2 || !strings.Contains(errOut, "--note") {
		t.Errorf("lift without a note: %d %s", code, errOut)
	}
	if code, out, _ := ks("", "hold", "lift", "apupil", "--note", "request answered"); code != 0 || !strings.Contains(out, "lifted 1 legal hold") {
		t.Errorf("lift: %d %s", code, out)
	}
	if code, out, _ := ks("", "hold", "show", "apupil"); code != 0 || !strings.Contains(out, "lifted") || !strings.Contains(out, "by cli:hdpo: request answered") {
		t.Errorf("show: %d %s", code, out)
	}
	if code, out, _ := ks("", "audit", "export", "--format", "jsonl"); code != 0 || !strings.Contains(out, `"legal_hold.set"`) || !strings.Contains(out, `"legal_hold.lift"`) {
		t.Errorf("not audited: %d", code)
	}
}
