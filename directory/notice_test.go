package directory_test

import (
	"context"
	"errors"
	"testing"

	"keystage.dev/keystage/directory"
)

// A portal signature of a document with a monitoring notice must
// acknowledge it; the acknowledgement is kept with the signature.
func TestMonitoringNoticeAcknowledged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("nstaff"), "")
	doc, err := f.d.PublishAUP(ctx, "t", directory.AUPDocument{Audience: "staff", Version: "1", Text: "rules", MonitoringNotice: "  Use is monitored.  "})
	if err != nil {
		t.Fatal(err)
	}
	if doc.MonitoringNotice != "Use is monitored." {
		t.Errorf("notice %q", doc.MonitoringNotice)
	}
	sig := directory.Signature{DocumentID: doc.ID, Digest: doc.Digest, Method: directory.SignPortal}
	if _, err := f.d.RecordSignature(ctx, "t", a, sig); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("signed without acknowledging: %v", err)
	}
	sig.NoticeAcknowledged = true
	if _, err := f.d.RecordSignature(ctx, "t", a, sig); err != nil {
		t.Fatal(err)
	}
	docs, _ := f.s.AUPDocuments(ctx)
	sigs, _ := f.s.Signatures(ctx, a.ID)
	if len(sigs) != 1 || !sigs[0].NoticeAcknowledged || len(docs) != 1 || docs[0].MonitoringNotice != "Use is monitored." {
		t.Errorf("stored: %+v %+v", sigs, docs)
	}
}
