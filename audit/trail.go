package audit

import (
	"errors"
	"fmt"
	"iter"
)

// TrailReport is what VerifyTrail found.
type TrailReport struct {
	Events      int64  // events checked
	Checkpoints int64  // signed checkpoints checked against their events
	HeadSeq     int64  // the last event
	HeadHash    string //
	// CoveredSeq is the last event vouched for by a signed checkpoint:
	// events after it are protected by the chain alone until the next
	// checkpoint is made.
	CoveredSeq int64
	// FirstSeq is the first event of the trail: above 1 when a retention
	// prune deleted the events before it, and PrunedBy is then the event
	// that records that prune.
	FirstSeq int64
	PrunedBy int64
	// With a witness: Witnessed checkpoints matched their events, the last
	// at WitnessedSeq; WitnessPruned were of events lawfully pruned since.
	Witnessed     int64
	WitnessedSeq  int64
	WitnessPruned int64
}

// Errors about the start of a trail and its witness.
var (
	// ErrPruneUnrecorded is a trail whose first events are gone without an
	// audit.prune event that says so.
	ErrPruneUnrecorded = errors.New("events removed from the start of the trail with no record of a retention prune")
	// ErrPruneUnwitnessed is a trail pruned by an event that no witnessed
	// checkpoint covers yet: the witness cannot vouch that the prune is
	// not a forgery made to hide the removal.
	ErrPruneUnwitnessed = errors.New("the retention prune that removed the start of the trail is not under a witnessed checkpoint")
	// ErrPruneForged is a record of a prune that the signing key did not
	// sign: someone wrote it to pass off events they removed.
	ErrPruneForged = errors.New("the record of the retention prune is not signed by a trusted key")
)

// VerifyTrail walks the whole chain and its checkpoints, both in order of
// Seq, and stops at the first problem: a *ChainError (see Verifier, and
// ErrRewritten and ErrTruncated) or a checkpoint whose signature does not
// verify under keys. It holds one event and one checkpoint at a time.
func VerifyTrail(keys Keys, events iter.Seq2[Event, error], checkpoints iter.Seq2[Checkpoint, error]) (TrailReport, error) {
	return VerifyWitnessed(keys, events, checkpoints, nil)
}

// VerifyWitnessed is VerifyTrail that also checks the trail against the
// checkpoints a witness kept (in order of Seq, as ParseWitness returns
// them; nil: no witness): each must verify under keys, and its event must
// be in the trail with its hash, unless a retention prune recorded in the
// trail (and, with a witness, under a witnessed checkpoint) deleted it. A
// trail that starts after event 1 must say so with an ActionPrune event
// whose Prune is signed under keys.
func VerifyWitnessed(keys Keys, events iter.Seq2[Event, error], checkpoints iter.Seq2[Checkpoint, error], witness []Checkpoint) (TrailReport, error) {
	var rep TrailReport
	for _, w := range witness {
		if err := keys.Verify(w); err != nil {
			return rep, err
		}
	}
	next, stop := iter.Pull2(checkpoints)
	defer stop()
	var (
		cp     Checkpoint
		cpLive bool
	)
	advance := func() error {
		var err error
		cp, err, cpLive = next()
		if !cpLive {
			return nil
		}
		if err != nil {
			cpLive = false
			return err
		}
		if err := keys.Verify(cp); err != nil {
			cpLive = false
			return err
		}
		return nil
	}
	if err := advance(); err != nil {
		return rep, err
	}
	v := NewVerifier(0, "")
	var startPrev string // the hash a pruned trail continues from
	wi := 0
	for e, err := range events {
		if err != nil {
			return rep, err
		}
		if rep.FirstSeq == 0 {
			rep.FirstSeq = e.Seq
			if e.Seq > 1 {
				// Pruned, if an audit.prune event says so further on.
				startPrev = e.PrevHash
				v = NewVerifier(e.Seq-1, e.PrevHash)
				for cpLive && cp.Seq < e.Seq {
					if err := advance(); err != nil {
						return rep, err
					}
				}
				for ; wi < len(witness) && witness[wi].Seq < e.Seq; wi++ {
					if witness[wi].Seq == e.Seq-1 && witness[wi].Hash != e.PrevHash {
						return rep, broken(e.Seq-1, ErrRewritten)
					}
					rep.WitnessPruned++
				}
			}
		}
		if err := v.Next(e); err != nil {
			return rep, err
		}
		if p, ok := PruneOf(e); ok && p.FirstSeq == rep.FirstSeq && p.PrevHash == startPrev {
			// Without keys nothing signed can be checked (the caller says
			// so); with them, an unsigned record explains nothing.
			if len(keys) > 0 {
				if err := keys.VerifyPrune(p); err != nil {
					return rep, &ChainError{Seq: 1, Through: rep.FirstSeq - 1, Err: fmt.Errorf("%w: %w", ErrPruneForged, err)}
				}
			}
			rep.PrunedBy = e.Seq
		}
		rep.Events = v.Count()
		rep.HeadSeq, rep.HeadHash = v.Head()
		for cpLive && cp.Seq <= e.Seq {
			if cp.Seq == e.Seq && cp.Hash != e.Hash {
				return rep, &ChainError{Seq: max(rep.CoveredSeq+1, rep.FirstSeq), Through: e.Seq, Err: ErrRewritten}
			}
			rep.CoveredSeq = cp.Seq
			rep.Checkpoints++
			if err := advance(); err != nil {
				return rep, err
			}
		}
		for ; wi < len(witness) && witness[wi].Seq <= e.Seq; wi++ {
			if witness[wi].Hash != e.Hash {
				return rep, &ChainError{Seq: max(rep.WitnessedSeq+1, rep.FirstSeq), Through: e.Seq, Err: ErrRewritten}
			}
			rep.Witnessed++
			rep.WitnessedSeq = e.Seq
		}
	}
	if cpLive {
		return rep, &ChainError{Seq: rep.HeadSeq + 1, Through: cp.Seq, Err: ErrTruncated}
	}
	if wi < len(witness) {
		return rep, &ChainError{Seq: rep.HeadSeq + 1, Through: witness[wi].Seq, Err: ErrTruncated}
	}
	if rep.FirstSeq > 1 {
		if rep.PrunedBy == 0 {
			return rep, &ChainError{Seq: 1, Through: rep.FirstSeq - 1, Err: ErrPruneUnrecorded}
		}
		if witness != nil && rep.WitnessedSeq < rep.PrunedBy {
			return rep, &ChainError{Seq: 1, Through: rep.FirstSeq - 1, Err: ErrPruneUnwitnessed}
		}
	}
	return rep, nil
}
