package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// A refusal from the local authority for a looked-after child, recorded in
// the portal, is shown as such and the gate honours it.
func TestConsentRefusedInPortal(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	tech := mustSignIn(t, srv, portaltest.Technician)
	pupil := srv.Accounts[portaltest.Pupil]
	path := "/staff/people/" + portaltest.Pupil
	if p := tech.get(path); !strings.Contains(p.body, `<option value="refused">Refused</option>`) || !strings.Contains(p.body, `<option value="local authority">`) {
		t.Fatalf("the consent form offers no refusal: %s", p.body)
	}
	today := time.Now().Format("2006-01-02")
	if p := tech.post(path+"/consent", url.Values{"decision": {"refused"}, "parent": {"Westshire Council (J. Officer)"},
		"relationship": {"local authority"}, "given": {today}}); p.status != http.StatusSeeOther {
		t.Fatalf("refusal: %d %s", p.status, p.body)
	}
	cs, _ := srv.Store.Consents(ctx, pupil.ID)
	last := cs[len(cs)-1]
	if last.Decision != directory.ConsentRefused || last.Relationship != "local authority" || last.RecordedBy != "user:"+portaltest.Technician {
		t.Errorf("recorded: %+v", last)
	}
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceLDAP, time.Now()); dec.Reason != directory.ReasonConsentMissing && dec.Reason != directory.ReasonAUPUnsigned {
		t.Errorf("gate after refusal: %+v", dec)
	}
	facts, _ := srv.Directory.Gate().Facts(ctx, pupil, directory.ServiceLDAP, time.Now())
	facts.Documents = nil
	if dec := srv.Directory.Gate().Policy.Decide(facts, directory.ServiceLDAP, time.Now()); dec.Reason != directory.ReasonConsentMissing {
		t.Errorf("gate after refusal, the AUP aside: %+v", dec)
	}
	if p := tech.get(path); !strings.Contains(p.body, "<strong>Refused</strong> by Westshire Council (J. Officer) (local authority)") {
		t.Errorf("the refusal is not shown: %s", p.body)
	}
}
