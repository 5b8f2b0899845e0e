package main

import (
	"strings"
	"testing"
)

// A suspension only the safeguarding role may lift: keystage unsuspend is
// refused to someone without the role and without a note of the
// conversation; account show tells others that access is suspended and
// until when, not why.
func TestSuspendLiftedByRoleCommands(t *testing.T) {
	_, ks := school(t)
	for _, args := range [][]string{
		{"account", "add", "--username", "sdsl", "--role", "staff", "--given", "Sam", "--family", "Lead"},
		{"account", "add", "--username", "ttech", "--role", "staff", "--given", "Tess", "--family", "Tech"},
		{"group", "add", "portal-safeguarding"},
		{"group", "add", "portal-technicians"},
		{"group", "members", "add", "portal-safeguarding", "sdsl"},
		{"group", "members", "add", "portal-technicians", "ttech"},
	} {
		if code, _, errOut := ks("", args...); code != 0 && !strings.Contains(errOut, "already exists") {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	if code, _, errOut := ks("", "suspend", "apupil", "--scope", "smtp", "--for", "1d", "--reason", "r"); code != 2 || !strings.Contains(errOut, "not a suspension scope") {
		t.Errorf("bad scope: %d %s", code, errOut)
	}
	if code, _, errOut := ks("", "suspend", "apupil", "--lifted-by", "head", "--reason", "r"); code != 2 || !strings.Contains(errOut, "not a staff role") {
		t.Errorf("an unknown lift role: %d %s", code, errOut)
	}
	code, out, errOut := ks("", "suspend", "apupil", "--scope", "internet", "--lifted-by", "safeguarding", "--reason", "Blog misuse", "--incident", "INC-31")
	if code != 0 || !strings.Contains(out, "the internet and Wi-Fi only") || !strings.Contains(out, "until the safeguarding role lifts it") ||
		!strings.Contains(errOut, "Wi-Fi refuse apupil now") || strings.Contains(errOut, "LDAP") {
		t.Fatalf("suspend: %d %s %s", code, out, errOut)
	}
	t.Setenv("KEYSTAGE_ACTOR", "ttech")
	if code, out, _ := ks("", "account", "show", "apupil"); code != 0 || strings.Contains(out, "Blog misuse") || strings.Contains(out, "INC-31") ||
		!strings.Contains(out, "the internet and Wi-Fi only") || !strings.Contains(out, "reasons are shown to the safeguarding role only") {
		t.Errorf("account show to a technician: %d %s", code, out)
	}
	if code, _, errOut := ks("", "unsuspend", "apupil", "--with", "the head", "--note", "talked"); code != 1 || !strings.Contains(errOut, "only the safeguarding role may lift") {
		t.Errorf("unsuspend by a technician: %d %s", code, errOut)
	}
	t.Setenv("KEYSTAGE_ACTOR", "sdsl")
	if code, out, _ := ks("", "account", "show", "apupil"); code != 0 || !strings.Contains(out, "Blog misuse") || !strings.Contains(out, "INC-31") {
		t.Errorf("account show to the safeguarding lead: %d %s", code, out)
	}
	if code, _, errOut := ks("", "unsuspend", "apupil"); code != 1 || !strings.Contains(errOut, "who took part in the conversation") {
		t.Errorf("unsuspend without the conversation: %d %s", code, errOut)
	}
	if code, out, errOut := ks("", "unsuspend", "apupil", "--with", "the head and apupil's mother", "--note", "agreed to post kindly"); code != 0 || !strings.Contains(out, "lifted 1") {
		t.Fatalf("unsuspend by the safeguarding lead: %d %s %s", code, out, errOut)
	}
	if code, out, _ := ks("", "account", "show", "apupil"); code != 0 || !strings.Contains(out, "with the head and apupil's mother: agreed to post kindly") {
		t.Errorf("the conversation is not shown: %s", out)
	}
	if code, out, _ := ks("", "audit", "export", "--format", "jsonl"); code != 0 || !strings.Contains(out, "agreed to post kindly") {
		t.Errorf("the conversation is not in the trail: %d", code)
	}
}

// Consent refused, given and withdrawn from the command line, each with
// who gave it; aup status shows the gate honouring the latest.
func TestConsentDecisionCommands(t *testing.T) {
	_, ks := school(t)
	if code, _, errOut := ks("", "consent", "refuse", "apupil"); code != 2 || !strings.Contains(errOut, "want --parent and --relationship") {
		t.Errorf("refuse without who: %d %s", code, errOut)
	}
	for _, step := range []struct {
		args    []string
		out     string
		missing bool
	}{
		{[]string{"consent", "refuse", "apupil", "--parent", "Westshire Council", "--relationship", "local authority"}, "recorded refusal of consent for apupil from Westshire Council (local authority)", true},
		{[]string{"consent", "record", "apupil", "--parent", "Westshire Council", "--relationship", "local authority"}, "recorded consent for apupil", false},
		{[]string{"consent", "withdraw", "apupil", "--parent", "Mo Carer", "--relationship", "carer"}, "recorded withdrawal of consent for apupil from Mo Carer (carer)", true},
	} {
		code, out, errOut := ks("", step.args...)
		if code != 0 || !strings.Contains(out, step.out) {
			t.Fatalf("%v: %d %s %s", step.args, code, out, errOut)
		}
		_, _, status := ks("", "aup", "status", "apupil")
		if got := strings.Contains(status, "permission from your parent or carer"); got != step.missing {
			t.Errorf("after %v: consent missing = %v, want %v (%s)", step.args[1], got, step.missing, status)
		}
	}
}
