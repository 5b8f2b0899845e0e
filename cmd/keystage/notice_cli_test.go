package main

import (
	"strings"
	"testing"
	"time"
)

// aup publish --monitoring-notice: the notice is kept with the version and
// announced.
func TestPublishWithMonitoringNotice(t *testing.T) {
	dir, ks := school(t)
	text := writeFile(t, dir, "staff.md", "# Staff AUP\n")
	notice := writeFile(t, dir, "notice.txt", "Network and internet use is monitored.")
	code, out, errOut := ks("", "aup", "publish", "--audience", "staff", "--version", "2026-n", "--file", text, "--monitoring-notice", notice)
	if code != 0 || !strings.Contains(out, "with its monitoring notice") {
		t.Fatalf("publish: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("", "aup", "publish", "--audience", "staff", "--version", "2026-m", "--file", text, "--monitoring-notice", dir+"/missing"); code != 1 || !strings.Contains(errOut, "reading the monitoring notice") {
		t.Errorf("a missing notice file: %d %s", code, errOut)
	}
	today := time.Now().In(mustLoc(t)).Format("2006-01-02")
	if code, out, errOut := ks("", "aup", "record", "jteacher", "--form-date", today, "--witness", "Mrs Head", "--notice-acknowledged"); code != 0 {
		t.Fatalf("record: %d %s %s", code, out, errOut)
	}
	code, out, _ = ks("", "audit", "export", "--format", "jsonl")
	if code != 0 || !strings.Contains(out, "Network and internet use is monitored.") {
		t.Errorf("the notice is not in the trail's publish event")
	}
	if !strings.Contains(out, `"notice_acknowledged":true`) {
		t.Errorf("the paper signature's acknowledgement is not in the trail")
	}
}
