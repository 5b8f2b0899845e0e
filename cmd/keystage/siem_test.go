package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/siem/siemtest"
)

// recordYears records one event a month from January 2020, n of them.
func recordYears(t *testing.T, path string, n int) {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2020, 1, 15, 12, 0, 0, 0, time.UTC)
	for i := range n {
		err := s.Update(t.Context(), func(ctx context.Context, tx directory.Tx) error {
			return tx.Record(ctx, &audit.Event{Time: t0.AddDate(0, i, 0), Actor: "sync", Action: "account.create",
				Target: fmt.Sprintf("account:p%d", i+1), After: audit.Snapshot(map[string]string{"username": fmt.Sprintf("p%d", i+1)})})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The test of the external witness, with Debian's rsyslogd as the
// witness receiving over TLS: every checkpoint is copied to it as it is
// made; a lawful prune is recorded, signed and witnessed, and verify
// --witness passes; someone who deletes every checkpoint and rewrites the
// chain passes plain verify, and verify --witness refuses it.
func TestAuditVerifyWitness(t *testing.T) {
	r := siemtest.Start(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("data_dir = %q\n\n[audit.witness]\naddress = %q\nca_file = %q\n", dir, r.Addr, r.CAFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "keystage.db")
	recordYears(t, dbPath, 60) // January 2020 to December 2024
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--config", conf}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	if out := run(0, "audit", "checkpoint", "--create-key"); !strings.Contains(out, "checkpoint signed at event 60") || !strings.Contains(out, "sent to witness "+r.Addr) {
		t.Fatalf("checkpoint: %s", out)
	}
	r.WaitFor(t, `"keystage":"audit.checkpoint","seq":60,`)
	if out := run(0, "audit", "verify", "--witness", r.Out); !strings.Contains(out, "audit trail intact and matches its witness: 60 events") ||
		!strings.Contains(out, "witness: 1 checkpoints match the trail, the last at event 60") {
		t.Errorf("verify --witness: %s", out)
	}

	// A retention prune: planned, then applied, recorded and witnessed.
	if out := run(0, "audit", "prune", "--before", "2023-01-01"); !strings.Contains(out, "would delete events 1 to 36 (36 events") || !strings.Contains(out, "nothing deleted") {
		t.Errorf("prune plan: %s", out)
	}
	out := run(0, "audit", "prune", "--before", "2023-01-01", "--apply")
	if !strings.Contains(out, "deleted 36 events; the prune is recorded at event 61") || !strings.Contains(out, "checkpoint signed at event 61") ||
		!strings.Contains(out, "sent to witness "+r.Addr) {
		t.Fatalf("prune --apply: %s", out)
	}
	r.WaitFor(t, `"seq":61,`)
	out = run(0, "audit", "verify", "--witness", r.Out)
	if !strings.Contains(out, "matches its witness: 25 events") || !strings.Contains(out, "witness: 2 checkpoints match the trail, the last at event 61") ||
		!strings.Contains(out, "events 1 to 36 were deleted by the retention prune recorded at event 61") {
		t.Errorf("verify --witness after the prune: %s", out)
	}
	if out := run(0, "audit", "verify"); !strings.Contains(out, "audit trail intact: 25 events") || !strings.Contains(out, "retention prune recorded at event 61") {
		t.Errorf("verify after the prune: %s", out)
	}

	// The attack: every checkpoint deleted, an event altered and every
	// hash after it recomputed.
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: dbPath, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.AuditEvents(t.Context(), 0, 1000)
	s.Close()
	if err != nil || len(evs) != 25 || evs[0].Seq != 37 {
		t.Fatalf("events after the prune: %d %v", len(evs), err)
	}
	db, err := sqlstore.OpenRaw(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	evs[3].Actor = "mallory" // event 40
	prev := evs[2].Hash
	for i := 3; i < len(evs); i++ {
		audit.Chain(&evs[i], prev)
		prev = evs[i].Hash
		if _, err := db.Exec("UPDATE audit_events SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4", evs[i].Actor, evs[i].PrevHash, evs[i].Hash, evs[i].Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("DELETE FROM audit_checkpoints"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out := run(3, "audit", "verify"); strings.Contains(out, "TAMPERED") || !strings.Contains(out, "audit chain intact") {
		t.Errorf("without the witness the rewrite should pass plain verify, as the issue says: %s", out)
	}
	out = run(1, "audit", "verify", "--witness", r.Out)
	if !strings.Contains(out, "TAMPERED: audit chain broken between events 37 and 60: events rewritten since they were checkpointed") ||
		!strings.Contains(out, "The witness holds a signed checkpoint of event 60") {
		t.Errorf("verify --witness after the rewrite: %s", out)
	}

	// The start cut without a prune record: plain verify refuses it.
	db, err = sqlstore.OpenRaw(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM audit_events WHERE seq < 45"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out := run(1, "audit", "verify"); !strings.Contains(out, "TAMPERED") || !strings.Contains(out, "between events 1 and 44: events removed from the start of the trail with no record of a retention prune") ||
		!strings.Contains(out, "The trail starts at event 45, and no retention prune (audit.prune) records why") {
		t.Errorf("verify of a cut trail: %s", out)
	}
	// A witness file that holds no checkpoint is refused, not passed.
	empty := filepath.Join(t.TempDir(), "empty.log")
	os.WriteFile(empty, []byte("Dec  6 05:00:00 host sshd[1]: unrelated\n"), 0o600)
	if out := run(1, "audit", "verify", "--witness", empty); !strings.Contains(out, "holds no checkpoint of Keystage") {
		t.Errorf("verify with an empty witness: %s", out)
	}
}

// keystage serve's feed follows the trail: every event appended and every
// checkpoint signed reach the SIEM's JSON Lines file (0600), and a restart
// goes on from where it was rather than from the start.
func TestSIEMFeedFollowsTrail(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "siem.jsonl")
	conf := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("data_dir = %q\n\n[siem]\nfile = %q\n", dir, jsonl)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(conf, "")
	if err != nil {
		t.Fatal(err)
	}
	recordYears(t, filepath.Join(dir, "keystage.db"), 3)
	serveOnce := func(note func(s *sqlstore.Store)) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s, err := e.openStore(false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f, err := buildSIEMFeed(e, s, cfg)
		if err != nil || f == nil {
			t.Fatalf("feed: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- f.Serve(ctx) }()
		// A first start begins at the head: wait until it has its place.
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := os.Stat(filepath.Join(dir, "siem-position.json")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the feed never saved its position")
			}
			time.Sleep(10 * time.Millisecond)
		}
		note(s)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	waitLines := func(want string) []map[string]any {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			b, _ := os.ReadFile(jsonl)
			if strings.Contains(string(b), want) {
				var out []map[string]any
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					out = append(out, m)
				}
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("the SIEM file never had %s: %s", want, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	note := func(s *sqlstore.Store, target string) {
		if err := s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			return tx.Record(ctx, &audit.Event{Actor: "cli:tech", Action: "suspension.add", Target: target})
		}); err != nil {
			t.Fatal(err)
		}
	}
	serveOnce(func(s *sqlstore.Store) {
		note(s, "account:a")
		waitLines(`"target":"account:a"`)
	})
	// Stopped: two events recorded meanwhile; and a checkpoint signed.
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	note(s, "account:b")
	note(s, "account:c")
	s.Close()
	code, out, errOut := keystage(t, "", "--config", conf, "audit", "checkpoint", "--create-key")
	if code != 0 {
		t.Fatal(out, errOut)
	}
	serveOnce(func(s *sqlstore.Store) {
		note(s, "account:d")
		waitLines(`"target":"account:d"`)
	})
	lines := waitLines(`"target":"account:d"`)
	var seqs []float64
	checkpoints := 0
	for _, l := range lines {
		switch l["keystage"] {
		case "audit.event":
			seqs = append(seqs, l["seq"].(float64))
			if l["action"] != "suspension.add" || l["severity"] != "notice" || l["hash"] == "" {
				t.Errorf("event record %v", l)
			}
		case "audit.checkpoint":
			checkpoints++
		}
	}
	// Events 1 to 3 were there before the feed first started: not sent.
	if fmt.Sprint(seqs) != "[4 5 6 7]" {
		t.Errorf("events sent %v, want [4 5 6 7]: each once, in order, none missed across the restart", seqs)
	}
	if checkpoints < 1 {
		t.Error("the checkpoint signed while stopped was not sent")
	}
	if st, err := os.Stat(jsonl); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("SIEM file mode: %v %v", st, err)
	}
}

// keystage serve tees its warnings to the SIEM, and not its INFO lines
// unless siem.log_level says so.
func TestServeTeesWarningsToSIEM(t *testing.T) {
	for _, level := range []string{"warn", "info"} {
		t.Run(level, func(t *testing.T) {
			dir := t.TempDir()
			jsonl := filepath.Join(dir, "siem.jsonl")
			conf := filepath.Join(dir, "keystage.toml")
			if err := os.WriteFile(conf, []byte(fmt.Sprintf("data_dir = %q\n\n[siem]\nfile = %q\nlog_level = %q\n", dir, jsonl, level)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(conf, "")
			if err != nil {
				t.Fatal(err)
			}
			e := &env{ctx: t.Context(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, cfg: cfg}
			if err := e.teeLog(cfg); err != nil {
				t.Fatal(err)
			}
			e.logger().With("frontend", "radius").Warn("radius: request dropped", "reason", "unknown client", "from", "10.9.9.9:50123")
			e.logger().Info("ldap bind refused", "user", "p1")
			for _, fw := range e.siem.Events {
				if !fw.Drain(t.Context()) {
					t.Fatal("not drained")
				}
			}
			b, err := os.ReadFile(jsonl)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"keystage":"log"`) || !strings.Contains(string(b), `"msg":"radius: request dropped"`) ||
				!strings.Contains(string(b), `"reason":"unknown client"`) || !strings.Contains(string(b), `"frontend":"radius"`) {
				t.Errorf("the warning is not in the SIEM file: %s", b)
			}
			if got := strings.Contains(string(b), "ldap bind refused"); got != (level == "info") {
				t.Errorf("log_level %s: INFO line sent = %v: %s", level, got, b)
			}
		})
	}
}
