package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// The monitoring notice: the sign page shows it, signing without
// acknowledging it is refused, and the signature records the
// acknowledgement.
func TestSignWithMonitoringNotice(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	pupil := srv.Accounts[portaltest.Pupil]
	aud := srv.Directory.Gate().Policy.AudiencesOf(pupil)[0]
	const notice = "The school monitors your use of the network and the internet, and keeps a record of the sites you visit."
	doc, err := srv.Directory.PublishAUP(ctx, "test", directory.AUPDocument{Audience: aud, Version: "2026.2", Text: "# Our rules\n\nBe kind online.",
		MonitoringNotice: notice})
	if err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Pupil)
	p := b.get("/aup")
	if !strings.Contains(p.body, "Monitoring notice") || !strings.Contains(p.body, notice) || !regexp.MustCompile(`name="notice" value="yes" required`).MatchString(p.body) {
		t.Fatalf("the sign page does not carry the notice: %s", p.body)
	}
	form := url.Values{"document": {strconv.FormatInt(doc.ID, 10)}, "digest": {doc.Digest}, "agree": {"yes"}}
	if p := b.post("/aup", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "monitoring notice") {
		t.Errorf("signed without acknowledging the notice: %d", p.status)
	}
	if sigs, _ := srv.Store.Signatures(ctx, pupil.ID); len(sigs) != 0 {
		t.Fatalf("a signature was recorded: %+v", sigs)
	}
	form.Set("notice", "yes")
	if p := b.post("/aup", form); p.status != http.StatusSeeOther {
		t.Fatalf("sign: %d %s", p.status, p.body)
	}
	sigs, _ := srv.Store.Signatures(ctx, pupil.ID)
	if len(sigs) != 1 || sigs[0].DocumentID != doc.ID || !sigs[0].NoticeAcknowledged {
		t.Fatalf("signature: %+v", sigs)
	}
	if evs := events(t, srv.Store, "aup.sign"); len(evs) != 1 || !strings.Contains(string(evs[0].After), `"notice_acknowledged":true`) {
		t.Errorf("the trail does not record the acknowledgement: %+v", evs)
	}
	if p := b.get("/aup"); !strings.Contains(p.body, "acknowledging the monitoring notice") {
		t.Errorf("the signed page does not say the notice was acknowledged")
	}
}
