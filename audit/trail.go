package audit

import "iter"

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
}

// VerifyTrail walks the whole chain and its checkpoints, both in order of
// Seq, and stops at the first problem: a *ChainError (see Verifier, and
// ErrRewritten and ErrTruncated) or a checkpoint whose signature does not
// verify under keys. It holds one event and one checkpoint at a time.
func VerifyTrail(keys Keys, events iter.Seq2[Event, error], checkpoints iter.Seq2[Checkpoint, error]) (TrailReport, error) {
	var rep TrailReport
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
	for e, err := range events {
		if err != nil {
			return rep, err
		}
		if err := v.Next(e); err != nil {
			return rep, err
		}
		rep.Events = v.Count()
		rep.HeadSeq, rep.HeadHash = v.Head()
		for cpLive && cp.Seq <= e.Seq {
			if cp.Seq == e.Seq && cp.Hash != e.Hash {
				return rep, &ChainError{Seq: rep.CoveredSeq + 1, Through: e.Seq, Err: ErrRewritten}
			}
			rep.CoveredSeq = cp.Seq
			rep.Checkpoints++
			if err := advance(); err != nil {
				return rep, err
			}
		}
	}
	if cpLive {
		return rep, &ChainError{Seq: rep.HeadSeq + 1, Through: cp.Seq, Err: ErrTruncated}
	}
	return rep, nil
}
