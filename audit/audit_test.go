package audit

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"testing"
	"time"
)

// chain makes n chained events.
func chain(n int) []Event {
	var out []Event
	prev := ""
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := Event{Seq: int64(i), Time: t0.Add(time.Duration(i) * time.Minute), Actor: "sync", Action: "account.create",
			Target: fmt.Sprintf("account:p%d", i), After: Snapshot(map[string]any{"username": fmt.Sprintf("p%d", i)})}
		Chain(&e, prev)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

// rechain recomputes every hash from index i on, as someone with database
// access who knows the scheme would.
func rechain(es []Event, i int) {
	prev := ""
	if i > 0 {
		prev = es[i-1].Hash
	}
	for j := i; j < len(es); j++ {
		Chain(&es[j], prev)
		prev = es[j].Hash
	}
}

func renumber(es []Event) {
	for i := range es {
		es[i].Seq = int64(i + 1)
	}
}

func TestVerifierNamesTheTamperedEvent(t *testing.T) {
	cases := []struct {
		name   string
		tamper func([]Event) []Event
		seq    int64
		want   error
	}{
		{"intact", func(es []Event) []Event { return es }, 0, nil},
		{"content altered", func(es []Event) []Event { es[4].Actor = "mallory"; return es }, 5, ErrAltered},
		{"after state altered", func(es []Event) []Event { es[4].After = []byte(`{"username":"x"}`); return es }, 5, ErrAltered},
		{"altered with its own hash recomputed", func(es []Event) []Event {
			es[4].Actor = "mallory"
			Chain(&es[4], es[3].Hash)
			return es
		}, 5, ErrAltered},
		{"row deleted", func(es []Event) []Event { return append(es[:4], es[5:]...) }, 5, ErrMissing},
		{"first row deleted", func(es []Event) []Event { return es[1:] }, 1, ErrMissing},
		{"row deleted and the rest renumbered", func(es []Event) []Event {
			es = append(es[:4], es[5:]...)
			renumber(es)
			return es
		}, 5, ErrMissing},
		{"row inserted and the rest renumbered", func(es []Event) []Event {
			fake := Event{Seq: 5, Time: es[3].Time, Actor: "mallory", Action: "account.create", Target: "account:ghost"}
			Chain(&fake, es[3].Hash)
			es = append(es[:4], append([]Event{fake}, es[4:]...)...)
			renumber(es)
			return es
		}, 5, ErrInserted},
		{"row inserted at the start", func(es []Event) []Event {
			fake := Event{Seq: 1, Time: es[0].Time, Actor: "mallory", Action: "x", Target: "y"}
			Chain(&fake, "")
			es = append([]Event{fake}, es...)
			renumber(es)
			return es
		}, 1, ErrInserted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := c.tamper(chain(10))
			v := NewVerifier(0, "")
			var err error
			for _, e := range es {
				if err = v.Next(e); err != nil {
					break
				}
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("intact chain: %v", err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, c.want) || ce.Seq != c.seq {
				t.Fatalf("err = %v, want %v at %d", err, c.want, c.seq)
			}
		})
	}
}

func seq2[T any](xs []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

func testSigner(t *testing.T) *Signer {
	t.Helper()
	pemKey, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseSigningKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner(key)
}

func checkpoints(s *Signer, es []Event, every int) []Checkpoint {
	var out []Checkpoint
	for i := every - 1; i < len(es); i += every {
		out = append(out, s.Sign(es[i].Seq, es[i].Hash, es[i].Time.Add(time.Second)))
	}
	return out
}

func TestVerifyTrail(t *testing.T) {
	s := testSigner(t)
	keys := NewKeys(s.Public())
	cases := []struct {
		name          string
		tamper        func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint)
		seq, through  int64
		want          error
		wantCheckpted int64
	}{
		{"intact", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) { return es, cps }, 0, 0, nil, 4},
		{"altered and every later hash recomputed", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) {
			es[12].Actor = "mallory"
			rechain(es, 12)
			return es, cps
		}, 11, 15, ErrRewritten, 2},
		{"deleted, renumbered and rehashed", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) {
			es = append(es[:6], es[7:]...)
			renumber(es)
			rechain(es, 6)
			return es, cps
		}, 6, 10, ErrRewritten, 1},
		{"tail removed", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) { return es[:17], cps }, 18, 20, ErrTruncated, 3},
		{"checkpoint forged", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) {
			cps[1].Hash = es[3].Hash
			return es, cps
		}, 0, 0, ErrBadSignature, 1},
		{"checkpoint by another key", func(es []Event, cps []Checkpoint) ([]Event, []Checkpoint) {
			cps[0] = testSigner(t).Sign(cps[0].Seq, cps[0].Hash, cps[0].Time)
			return es, cps
		}, 0, 0, ErrUnknownKey, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := chain(20)
			cps := checkpoints(s, es, 5)
			es, cps = c.tamper(es, cps)
			rep, err := VerifyTrail(keys, seq2(es), seq2(cps))
			if c.want == nil {
				if err != nil || rep.Events != 20 || rep.Checkpoints != 4 || rep.CoveredSeq != 20 || rep.HeadSeq != 20 {
					t.Fatalf("intact trail: %+v %v", rep, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.seq != 0 {
				var ce *ChainError
				if !errors.As(err, &ce) || ce.Seq != c.seq || ce.Through != c.through {
					t.Fatalf("err = %v, want events %d to %d", err, c.seq, c.through)
				}
			}
			if rep.Checkpoints != c.wantCheckpted {
				t.Errorf("checkpoints verified = %d, want %d", rep.Checkpoints, c.wantCheckpted)
			}
		})
	}
}

func TestKeysRoundTrip(t *testing.T) {
	s := testSigner(t)
	pub, err := ParsePublicKey(PublicKeyPEM(s.Public()))
	if err != nil || !pub.Equal(s.Public()) {
		t.Fatalf("PEM public key: %v", err)
	}
	if _, err := ParsePublicKey([]byte("not a key")); !errors.Is(err, ErrBadKey) {
		t.Errorf("garbage public key: %v", err)
	}
	if _, err := ParseSigningKey(PublicKeyPEM(s.Public())); !errors.Is(err, ErrBadKey) {
		t.Errorf("public key as signing key: %v", err)
	}
	c := s.Sign(7, "abc", time.Now())
	if err := NewKeys(pub).Verify(c); err != nil {
		t.Fatal(err)
	}
	c.Time = c.Time.Add(time.Microsecond)
	if err := NewKeys(pub).Verify(c); !errors.Is(err, ErrBadSignature) {
		t.Errorf("moved time: %v", err)
	}
	var _ ed25519.PublicKey = pub
}

func TestEventExportRoundTrip(t *testing.T) {
	es := chain(3)
	es[1].After = []byte(`not json`) // a tampered row must still export as a valid line
	var buf bytes.Buffer
	w := NewEventWriter(&buf)
	for _, e := range es {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	v := NewVerifier(0, "")
	for i, l := range lines {
		e, err := ReadEvent([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if i != 1 {
			if err := v.Next(e); err != nil {
				t.Fatalf("exported event %d does not verify: %v", i, err)
			}
		}
		v = NewVerifier(e.Seq, e.Hash)
	}
}

func sampleRows() []RegisterRow {
	d := func(m, day int) time.Time { return time.Date(2026, time.Month(m), day, 9, 30, 0, 0, time.UTC) }
	return []RegisterRow{
		{Name: "Zoë O'Connor", Role: "pupil", YearGroup: "7", RegGroup: "7A", MISID: "P1", Username: "26zoconnor",
			State: "active", AccessGranted: d(9, 3), AUPAudience: "pupil-ks3", AUPVersion: "2026.1", AUPSigned: d(9, 4),
			AUPMethod: "portal", ConsentGiven: d(9, 1), WiFiIssued: d(9, 5), Passkeys: 2, LastWiFi: d(10, 1),
			SuspendedFrom: d(10, 2)},
		{Name: "=HYPERLINK(\"x\")", Role: "staff", Username: "jsmith", State: "disabled", Disabled: d(12, 1), Purged: d(12, 31)},
	}
}

func TestRegisterFormats(t *testing.T) {
	for _, format := range []string{FormatCSV, FormatJSON, FormatJSONL, FormatXLSX} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewRegisterWriter(&buf, format, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range sampleRows() {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var rows [][]string
			switch format {
			case FormatCSV:
				// Excel reads a CSV without a byte order mark as the
				// Windows code page: "Zoë" would show as "ZoÃ«".
				if !bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
					t.Errorf("the CSV does not start with a UTF-8 byte order mark: %q", buf.Bytes()[:min(buf.Len(), 8)])
				}
				rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte(UTF8BOM)))).ReadAll()
			case FormatJSON:
				var objs []map[string]any
				err = json.Unmarshal(buf.Bytes(), &objs)
				rows = objRows(objs)
			case FormatJSONL:
				var objs []map[string]any
				dec := json.NewDecoder(&buf)
				for dec.More() {
					var o map[string]any
					if err = dec.Decode(&o); err != nil {
						break
					}
					objs = append(objs, o)
				}
				rows = objRows(objs)
			case FormatXLSX:
				rows, err = readXLSX(buf.Bytes())
			}
			if err != nil {
				t.Fatal(err)
			}
			if format == FormatCSV || format == FormatXLSX {
				if strings.Join(rows[0], "|") != strings.Join(RegisterHeader(), "|") {
					t.Fatalf("header = %q", rows[0])
				}
				rows = rows[1:]
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows: %q", len(rows), rows)
			}
			got := strings.Join(rows[0], "|")
			for _, want := range []string{"Zoë O'Connor", "26zoconnor", "2026-09-03", "pupil-ks3", "portal", "2026-10-01 09:30", "until lifted", "2"} {
				if !strings.Contains(got, want) {
					t.Errorf("row lacks %q: %s", want, got)
				}
			}
			if format == FormatCSV && rows[1][0] != `'=HYPERLINK("x")` {
				t.Errorf("formula not defused in CSV: %q", rows[1][0])
			}
		})
	}
	if _, err := NewRegisterWriter(io.Discard, "pdf", nil); !errors.Is(err, ErrFormat) {
		t.Errorf("pdf: %v", err)
	}
}

func TestEmptyJSONRegisterIsAnArray(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewRegisterWriter(&buf, FormatJSON, nil)
	w.Close()
	var v []any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil || len(v) != 0 {
		t.Fatalf("%q: %v", buf.String(), err)
	}
}

func objRows(objs []map[string]any) [][]string {
	var out [][]string
	for _, o := range objs {
		var r []string
		for _, c := range columns {
			r = append(r, fmt.Sprint(o[c.key]))
		}
		out = append(out, r)
	}
	return out
}

// readXLSX reads the cells of the sheet back, as a spreadsheet would.
func readXLSX(b []byte) ([][]string, error) {
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	for _, want := range []string{"[Content_Types].xml", "xl/workbook.xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"} {
		f, err := z.Open(want)
		if err != nil {
			return nil, err
		}
		if err := xml.NewDecoder(f).Decode(new(struct{})); err != nil {
			return nil, fmt.Errorf("%s: %w", want, err)
		}
		f.Close()
	}
	f, err := z.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ws struct {
		Rows []struct {
			Cells []struct {
				R string `xml:"r,attr"`
				V string `xml:"v"`
				T string `xml:"is>t"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.NewDecoder(f).Decode(&ws); err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range ws.Rows {
		row := make([]string, len(columns))
		for _, c := range r.Cells {
			col := 0
			for _, ch := range c.R {
				if ch >= 'A' && ch <= 'Z' {
					col = col*26 + int(ch-'A'+1)
				}
			}
			row[col-1] = c.T + c.V
		}
		out = append(out, row)
	}
	return out, nil
}

func TestColName(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"} {
		if got := colName(i); got != want {
			t.Errorf("colName(%d) = %s, want %s", i, got, want)
		}
	}
}

func FuzzReadEvent(f *testing.F) {
	var buf bytes.Buffer
	NewEventWriter(&buf).Write(chain(1)[0])
	f.Add(buf.Bytes())
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ReadEvent(line)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := NewEventWriter(&out).Write(e); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadEvent(out.Bytes()); err != nil {
			t.Fatalf("a line we wrote does not read back: %v", err)
		}
	})
}

// FuzzParseKeys: key files come from the operator's disk and may be
// anything; parsing must fail cleanly, and a key that parses must work.
func FuzzParseKeys(f *testing.F) {
	pemKey, _ := GenerateSigningKey()
	key, _ := ParseSigningKey(pemKey)
	f.Add(pemKey)
	f.Add(PublicKeyPEM(key.Public().(ed25519.PublicKey)))
	f.Add([]byte("MCowBQYDK2VwAyEA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParseSigningKey(data); err == nil {
			c := NewSigner(k).Sign(1, "h", time.Unix(0, 0))
			if err := NewKeys(k.Public().(ed25519.PublicKey)).Verify(c); err != nil {
				t.Fatal(err)
			}
		}
		if pub, err := ParsePublicKey(data); err == nil && len(pub) != ed25519.PublicKeySize {
			t.Fatalf("public key of %d bytes", len(pub))
		}
	})
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"MISID": "mis_id", "NASName": "nas_name", "CreatedAt": "created_at",
		"UIDNumber": "uid_number", "UUID": "uuid", "KeyID": "key_id", "FramedIP": "framed_ip", "ID": "id",
		"MustChangePassword": "must_change_password", "AccountID": "account_id", "ldap": "ldap"} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
