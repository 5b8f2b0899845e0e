package portal_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

var _ portal.Exports = directory.Exports{}

func TestAuditorDownloadsTheRealRegisterAndTrail(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{ServicesFor: func(d *directory.Directory) portal.Services {
		return portal.Services{Exports: directory.Exports{D: d, Location: time.UTC}}
	}})
	auditor := mustSignIn(t, srv, portaltest.Auditor)

	p := auditor.post("/audit/register", url.Values{})
	if p.status != 200 {
		t.Fatalf("register: %d %s", p.status, p.body)
	}
	if !strings.HasPrefix(p.body, audit.UTF8BOM) {
		t.Errorf("the register CSV has no UTF-8 byte order mark, so Excel garbles accented names")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.body, audit.UTF8BOM))).ReadAll()
	if err != nil {
		t.Fatalf("register is not CSV: %v", err)
	}
	if strings.Join(rows[0], ",") != strings.Join(audit.RegisterHeader(), ",") {
		t.Errorf("header: %q", rows[0])
	}
	n, _ := srv.Store.CountAccounts(context.Background(), directory.AccountQuery{})
	if len(rows)-1 != n || !strings.Contains(p.body, portaltest.Pupil) {
		t.Errorf("register has %d rows for %d accounts:\n%s", len(rows)-1, n, p.body)
	}

	p = auditor.post("/audit/events", url.Values{})
	if p.status != 200 {
		t.Fatalf("events: %d", p.status)
	}
	v := audit.NewVerifier(0, "")
	sc := bufio.NewScanner(strings.NewReader(p.body))
	lines := 0
	for sc.Scan() {
		e, err := audit.ReadEvent(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		if err := v.Next(e); err != nil {
			t.Fatalf("downloaded trail does not verify: %v", err)
		}
		lines++
	}
	// The download itself is recorded before it is sent, so the trail
	// holds at least the two downloads.
	if lines < 2 {
		t.Errorf("%d events", lines)
	}
}
