package siem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/siem"
	"keystage.dev/keystage/siem/siemtest"
)

func event(seq int64, action string) audit.Event {
	e := audit.Event{Seq: seq, Time: time.Date(2026, 12, 6, 8, 0, 0, int(seq)*1000, time.UTC), Actor: "cli:root", Action: audit.Action(action),
		Target: fmt.Sprintf("account:p%d", seq), After: []byte(`{"username":"p","note":"line one\nline two"}`)}
	audit.Chain(&e, "")
	return e
}

func TestFormat(t *testing.T) {
	m := siem.EventMessage(event(7, "suspension.add"), "ks1")
	got := string(siem.Format(siem.Header{Facility: siem.Facilities["authpriv"], Hostname: "school ks1", AppName: "keystage", ProcID: "42"}, m))
	// authpriv (10) * 8 + notice (5) = 85; a space in the host cannot
	// split the header.
	want := `<85>1 2026-12-06T08:00:00.000007Z school_ks1 keystage 42 suspension.add - {"keystage":"audit.event","host":"ks1","severity":"notice","seq":7,`
	if !strings.HasPrefix(got, want) {
		t.Fatalf("message\n%s\nwant prefix\n%s", got, want)
	}
	if strings.Contains(got, "\n") {
		t.Error("a newline in an event's state reached the message unescaped")
	}
	if f := string(siem.Frame([]byte("abc\ndef"))); f != "7 abc\ndef" {
		t.Errorf("frame %q", f)
	}
	empty := string(siem.Format(siem.Header{Facility: 13}, siem.Message{Time: time.Unix(0, 0), Severity: siem.SevWarning, Body: []byte("{}")}))
	if empty != "<108>1 1970-01-01T00:00:00.000000Z - - - - - {}" {
		t.Errorf("empty header fields: %q", empty)
	}
}

// lockedBuffer is a log that the forwarder's goroutine writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// blockingSink fails until released, like a collector that is down.
type blockingSink struct {
	mu   sync.Mutex
	down bool
	got  []siem.Message
}

func (s *blockingSink) Send(_ context.Context, m siem.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("collector down")
	}
	s.got = append(s.got, m)
	return nil
}
func (s *blockingSink) Close() error { return nil }

// A collector that is down fills the queue; Offer never waits, the oldest
// go with a count and a log line, and the newest are delivered in order
// once it is back.
func TestForwarderDropsOldestWhenFull(t *testing.T) {
	sink := &blockingSink{down: true}
	logBuf := &lockedBuffer{}
	f := siem.NewForwarder("test", sink, 10, slog.New(slog.NewTextHandler(logBuf, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	for i := range 25 {
		f.Offer(siem.Message{MsgID: fmt.Sprint(i), Body: []byte("{}")})
	}
	if st := f.Stats(); st.Dropped != 15 || st.Queued != 10 {
		t.Fatalf("stats %+v, want 15 dropped, 10 queued", st)
	}
	if !strings.Contains(logBuf.String(), "siem queue full") {
		t.Errorf("no log line for the drops: %s", logBuf.String())
	}
	sink.mu.Lock()
	sink.down = false
	sink.mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for f.Stats().Sent < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 10 || sink.got[0].MsgID != "15" || sink.got[9].MsgID != "24" {
		t.Fatalf("delivered %d, first %v", len(sink.got), sink.got)
	}
}

func TestFileRotatesAndIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystage-siem.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &siem.File{Path: path, MaxBytes: 1000}
	defer w.Close()
	for i := range 20 {
		if err := w.Send(context.Background(), siem.EventMessage(event(int64(i+1), "account.create"), "ks1")); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", p, st.Mode().Perm())
		}
		if st.Size() > 1000 {
			t.Errorf("%s is %d bytes, past its bound", p, st.Size())
		}
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["seq"] != 20.0 || last["keystage"] != "audit.event" {
		t.Errorf("last line %v %v", last, err)
	}
}

func TestLogTee(t *testing.T) {
	sink := &blockingSink{}
	f := siem.NewForwarder("test", sink, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	log := slog.New(siem.NewLogTee(slog.NewTextHandler(io.Discard, nil), f.Offer, slog.LevelWarn, "ks1")).With("frontend", "radius").WithGroup("req")
	log.Info("accepted", "user", "p1")
	log.Warn("dropped a packet from an unknown client", "src", "10.0.0.9", "err", errors.New("no such NAS"))
	if !f.Drain(context.Background()) || len(sink.got) != 1 {
		t.Fatalf("forwarded %d log lines, want the warning only", len(sink.got))
	}
	var rec map[string]any
	if err := json.Unmarshal(sink.got[0].Body, &rec); err != nil {
		t.Fatal(err)
	}
	attrs, _ := rec["attrs"].(map[string]any)
	if rec["keystage"] != "log" || rec["level"] != "WARN" || rec["msg"] != "dropped a packet from an unknown client" ||
		attrs["frontend"] != "radius" || attrs["req.src"] != "10.0.0.9" || attrs["req.err"] != "no such NAS" {
		t.Errorf("log record %s", sink.got[0].Body)
	}
}

// Events reach Debian's rsyslogd over TLS with octet-counted framing, one
// line each however many lines their states hold; a collector restarted
// while the feed was idle loses nothing sent after it came back.
func TestSyslogTLSToRsyslog(t *testing.T) {
	r := siemtest.Start(t)
	tlsCfg, err := siem.TLSConfig(r.CAFile, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	sink := &siem.Syslog{Address: r.Addr, TLS: tlsCfg, Header: siem.Header{Facility: siem.Facilities["authpriv"], Hostname: "ks1", AppName: "keystage", ProcID: "42"}}
	f := siem.NewForwarder("rsyslog", sink, 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := int64(1); i <= 5; i++ {
		f.Offer(siem.EventMessage(event(i, "signin.locked"), "ks1"))
	}
	out := r.WaitFor(t, `"seq":5,`)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.SplitN(line, " ", 5)
		if len(fields) != 5 || fields[1] != "ks1" || fields[2] != "keystage" || fields[3] != "signin.locked" {
			t.Fatalf("rsyslog line %q", line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(fields[4])), &rec); err != nil || rec["severity"] != "warning" || rec["action"] != "signin.locked" {
			t.Fatalf("record %q: %v", fields[4], err)
		}
	}
	r.Restart(t)
	// The connection Keystage holds is now dead. The next message, after
	// a pause, must still arrive: the forwarder sees the collector closed
	// it and connects again rather than writing into a socket nobody reads.
	time.Sleep(1500 * time.Millisecond)
	f.Offer(siem.EventMessage(event(100, "suspension.add"), "ks1"))
	r.WaitFor(t, `"seq":100,`)
}

// The HTTP witness posts each record as it is and retries on anything
// but a 2xx.
func TestHTTPWitness(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []string
		fail = true
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s", r.Method, r.Header.Get("Content-Type"))
		}
		got = append(got, string(b))
	}))
	defer srv.Close()
	sink := &siem.HTTP{URL: srv.URL}
	f := siem.NewForwarder("http", sink, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e := event(3, "account.create")
	c := audit.Checkpoint{Seq: e.Seq, Hash: e.Hash, Time: e.Time, KeyID: "k", Signature: []byte("sig")}
	f.Offer(siem.CheckpointMessage(c))
	if f.Drain(context.Background()) {
		t.Fatal("a 503 counted as delivered")
	}
	if !f.Drain(context.Background()) {
		t.Fatal("not delivered on the retry")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != string(audit.WitnessRecord(c)) {
		t.Errorf("posted %q", got)
	}
}

// A collector that asks for client certificates (rsyslog's
// authMode="x509/certvalid") gets nothing from a client without one, and
// everything from one with cert_file and key_file set.
func TestSyslogClientCertificate(t *testing.T) {
	r := siemtest.StartMutual(t)
	send := func(cert, key string, seq int64) *siem.Forwarder {
		tlsCfg, err := siem.TLSConfig(r.CAFile, cert, key, "")
		if err != nil {
			t.Fatal(err)
		}
		sink := &siem.Syslog{Address: r.Addr, TLS: tlsCfg, Header: siem.Header{Facility: 10, Hostname: "ks1", AppName: "keystage"}}
		f := siem.NewForwarder("rsyslog", sink, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
		f.Offer(siem.EventMessage(event(seq, "account.create"), "ks1"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		f.Drain(ctx)
		return f
	}
	send("", "", 1) // refused during or just after the handshake
	send(r.ClientCert, r.ClientKey, 2)
	out := r.WaitFor(t, `"seq":2,`)
	if strings.Contains(out, `"seq":1,`) {
		t.Errorf("a client without a certificate was accepted:\n%s", out)
	}
}
