package radius_test

import (
	"context"
	"testing"

	"keystage.dev/keystage/radius"
)

// An EAPEngine that was never started (EAP off) refuses each request with
// a reason, rather than dropping it or failing.
func TestEAPEngineNotStarted(t *testing.T) {
	var h radius.EAPEngine
	res, err := h.HandleEAP(context.Background(), radius.EAPOrigin{NAS: "ap1"}, nil, []byte{2, 1, 0, 9, 1, 'p', 'u', 'p', 'i'})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != radius.EAPReject || res.Reason != "EAP is not configured" {
		t.Errorf("got %+v, want a reject saying EAP is not configured", res)
	}
	if h.Engine() != nil {
		t.Error("an engine before Start")
	}
}
