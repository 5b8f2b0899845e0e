package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// prune appends the audit.prune event, signed by s (nil: unsigned), that
// deletes the events before keepFrom to es and returns the trail left:
// what directory.PruneTrail does.
func prune(s *Signer, es []Event, keepFrom int64) []Event {
	last := es[len(es)-1]
	rec := Prune{FirstSeq: keepFrom, PrevHash: es[keepFrom-2].Hash, Removed: keepFrom - 1, Before: last.Time}
	if s != nil {
		s.SignPrune(&rec)
	}
	p := Event{Seq: last.Seq + 1, Time: last.Time.Add(time.Minute), Actor: "cli:root", Action: ActionPrune, Target: "audit:trail",
		After: Snapshot(rec)}
	Chain(&p, last.Hash)
	return append(append([]Event(nil), es[keepFrom-1:]...), p)
}

// witnessOf is what a witness kept of cps, as rsyslog writes it, twice
// over (two nodes sent each).
func witnessOf(t *testing.T, cps []Checkpoint) []Checkpoint {
	t.Helper()
	var b bytes.Buffer
	for _, c := range cps {
		for range 2 {
			b.WriteString("2026-12-06T05:50:00+00:00 school-ks1 keystage[42]: ")
			b.Write(WitnessRecord(c))
			b.WriteString("\nan unrelated line\n")
		}
	}
	w, err := ParseWitness(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != len(cps) {
		t.Fatalf("witness read %d checkpoints of %d", len(w), len(cps))
	}
	for i := range w {
		if w[i].Seq != cps[i].Seq || w[i].Hash != cps[i].Hash || !w[i].Time.Equal(cps[i].Time) || w[i].KeyID != cps[i].KeyID || !bytes.Equal(w[i].Signature, cps[i].Signature) {
			t.Fatalf("witness record %d does not round-trip: %+v, want %+v", i, w[i], cps[i])
		}
	}
	return w
}

func TestVerifyWitnessed(t *testing.T) {
	s := testSigner(t)
	keys := NewKeys(s.Public())
	orig := chain(30)
	witnessed := witnessOf(t, checkpoints(s, orig, 10)) // events 10, 20, 30
	none := seq2[Checkpoint](nil)

	// The attack: every checkpoint deleted from the database and one event
	// altered with every hash after it recomputed. Without the witness it
	// passes; with it, it fails.
	rewritten := chain(30)
	rewritten[4].Actor = "mallory"
	rechain(rewritten, 4)
	if _, err := VerifyTrail(keys, seq2(rewritten), none); err != nil {
		t.Fatalf("the rewritten trail without checkpoints should pass without a witness: %v", err)
	}

	pruned := prune(s, orig, 13)                                   // events 13..31
	prunedWitness := witnessOf(t, append(checkpoints(s, orig, 10), // 10, 20, 30 and the prune's
		s.Sign(pruned[len(pruned)-1].Seq, pruned[len(pruned)-1].Hash, time.Now())))
	// Someone deletes the start and writes a prune record without the
	// key, or with another; the server then signs a checkpoint over it,
	// which the witness receives.
	forged := prune(nil, orig, 13)
	forgedWitness := witnessOf(t, append(checkpoints(s, orig, 10), s.Sign(forged[len(forged)-1].Seq, forged[len(forged)-1].Hash, time.Now())))
	otherKey := prune(testSigner(t), orig, 13)
	otherWitness := witnessOf(t, append(checkpoints(s, orig, 10), s.Sign(otherKey[len(otherKey)-1].Seq, otherKey[len(otherKey)-1].Hash, time.Now())))

	// The start deleted with no prune record.
	cut := append([]Event(nil), orig[12:]...)

	cases := []struct {
		name          string
		events        []Event
		witness       []Checkpoint
		want          error
		seq, through  int64
		witnessedSeq  int64
		witnessPruned int64
	}{
		{"intact", orig, witnessed, nil, 0, 0, 30, 0},
		{"rewritten after deleting every checkpoint", rewritten, witnessed, ErrRewritten, 1, 10, 0, 0},
		{"truncated", orig[:25], witnessed, ErrTruncated, 26, 30, 20, 0},
		{"emptied", nil, witnessed, ErrTruncated, 1, 10, 0, 0},
		{"start deleted without a prune", cut, witnessed, ErrPruneUnrecorded, 1, 12, 30, 1},
		{"lawful prune, witnessed", pruned, prunedWitness, nil, 0, 0, 31, 1},
		{"prune not yet witnessed", pruned, witnessed, ErrPruneUnwitnessed, 1, 12, 30, 1},
		{"forged prune, not witnessed", forged, witnessed, ErrPruneForged, 1, 12, 30, 1},
		{"forged prune, checkpointed by the server", forged, forgedWitness, ErrPruneForged, 1, 12, 30, 1},
		{"prune signed by another key", otherKey, otherWitness, ErrPruneForged, 1, 12, 30, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyWitnessed(keys, seq2(tc.events), none, tc.witness)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ce *ChainError
			if tc.want != nil && (!errors.As(err, &ce) || ce.Seq != tc.seq || ce.Through != tc.through) {
				t.Errorf("err = %v, want events %d to %d", err, tc.seq, tc.through)
			}
			if rep.WitnessedSeq != tc.witnessedSeq || rep.WitnessPruned != tc.witnessPruned {
				t.Errorf("witnessed to %d, %d pruned; want %d, %d", rep.WitnessedSeq, rep.WitnessPruned, tc.witnessedSeq, tc.witnessPruned)
			}
		})
	}

	// A pruned trail verifies without a witness too, and names the prune;
	// a cut one does not.
	if rep, err := VerifyTrail(keys, seq2(pruned), none); err != nil || rep.FirstSeq != 13 || rep.PrunedBy != 31 {
		t.Errorf("pruned trail without a witness: %+v %v", rep, err)
	}
	if _, err := VerifyTrail(keys, seq2(cut), none); !errors.Is(err, ErrPruneUnrecorded) {
		t.Errorf("cut trail without a witness: %v", err)
	}
	if _, err := VerifyTrail(keys, seq2(forged), none); !errors.Is(err, ErrPruneForged) {
		t.Errorf("forged prune without a witness: %v", err)
	}
	// A prune record that does not match the start it claims is no record.
	wrong := prune(s, orig, 13)
	wrong = wrong[1:] // event 13 deleted as well
	if _, err := VerifyTrail(keys, seq2(wrong), none); !errors.Is(err, ErrPruneUnrecorded) {
		t.Errorf("prune record of another start: %v", err)
	}
	// A witness record signed by another key, or altered, is refused.
	other := testSigner(t)
	if _, err := VerifyWitnessed(keys, seq2(orig), none, checkpoints(other, orig, 10)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("witness signed by another key: %v", err)
	}
	bad := checkpoints(s, orig, 10)
	bad[1].Time = bad[1].Time.Add(time.Second)
	if _, err := VerifyWitnessed(keys, seq2(orig), none, bad); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered witness record: %v", err)
	}
}

func TestParseWitnessRefusesDamage(t *testing.T) {
	s := testSigner(t)
	es := chain(3)
	good := string(WitnessRecord(s.Sign(2, es[1].Hash, es[1].Time)))
	other := string(WitnessRecord(s.Sign(2, es[2].Hash, es[1].Time)))
	cases := map[string]error{
		good + "\n" + other + "\n":                       ErrWitnessConflict,
		strings.Replace(good, `"seq":2`, `"seq":"2"`, 1): ErrWitnessDamaged,
		strings.Replace(good, `"seq":2`, `"seq":0`, 1):   ErrWitnessDamaged,
		good[:len(good)-20] + "\n":                       ErrWitnessDamaged,
	}
	for in, want := range cases {
		if _, err := ParseWitness(strings.NewReader(in)); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
	long := strings.Repeat("x", maxWitnessLine+1) + "\n"
	if _, err := ParseWitness(strings.NewReader(long)); err == nil {
		t.Error("a line longer than the bound was read")
	}
}

func FuzzParseWitness(f *testing.F) {
	s := NewSigner(make([]byte, 64))
	es := chain(2)
	f.Add(append([]byte("Dec  6 05:50:00 host keystage: "), WitnessRecord(s.Sign(1, es[0].Hash, es[0].Time))...))
	f.Add([]byte(`{"keystage":"audit.checkpoint","seq":1,"hash":"","time":"x"}`))
	f.Add([]byte("plain log line\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cps, err := ParseWitness(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i, c := range cps {
			if c.Seq <= 0 || len(c.Hash) != 64 || (i > 0 && cps[i-1].Seq >= c.Seq) {
				t.Fatalf("accepted %+v", c)
			}
			// What was read writes back to a record that reads the same.
			again, err := ParseWitness(bytes.NewReader(WitnessRecord(c)))
			if err != nil || len(again) != 1 || again[0].Hash != c.Hash || again[0].Seq != c.Seq {
				t.Fatalf("round trip of %+v: %+v %v", c, again, err)
			}
		}
	})
}
