package audit

import (
	"errors"
	"fmt"
)

// Problem kinds reported by Verify.
var (
	ErrAltered  = errors.New("event altered")
	ErrMissing  = errors.New("event removed")
	ErrInserted = errors.New("event inserted or reordered")
	// ErrRewritten is a chain that is whole in itself but does not match a
	// signed checkpoint: an event at or before the checkpoint was altered,
	// removed or inserted and every hash after it recomputed. Without a
	// signature between, which event it was cannot be told: ChainError
	// gives the range.
	ErrRewritten = errors.New("events rewritten since they were checkpointed")
	// ErrTruncated is a trail that ends before a signed checkpoint.
	ErrTruncated = errors.New("events removed from the end of the trail")
)

// ChainError names the first event at which the chain breaks. When the
// break can only be narrowed to a range (ErrRewritten), Through is the
// last event it may be; otherwise Through equals Seq.
type ChainError struct {
	Seq     int64
	Through int64
	Err     error
}

func (e *ChainError) Error() string {
	if e.Through > e.Seq {
		return fmt.Sprintf("audit chain broken between events %d and %d: %v", e.Seq, e.Through, e.Err)
	}
	return fmt.Sprintf("audit chain broken at event %d: %v", e.Seq, e.Err)
}
func (e *ChainError) Unwrap() error { return e.Err }

func broken(seq int64, err error) *ChainError { return &ChainError{Seq: seq, Through: seq, Err: err} }

// Verifier checks a chain streamed to it in order of Seq, one event at a
// time, in constant memory.
type Verifier struct {
	prevSeq      int64
	prevHash     string
	prevPrevHash string // the link the event before prev pointed to
	n            int64
}

// NewVerifier starts a verification after the event (seq, hash); zero
// values start at the beginning of the chain.
func NewVerifier(afterSeq int64, afterHash string) *Verifier {
	return &Verifier{prevSeq: afterSeq, prevHash: afterHash}
}

// Next checks one event. The first problem found is returned as
// *ChainError, naming the event that was tampered with rather than the one
// where the damage shows: a row deleted and the rows after renumbered is a
// removal, a row slipped in with the rows after renumbered is an insertion,
// and an event whose own hash was recomputed is an alteration of it.
func (v *Verifier) Next(e Event) error {
	if e.Seq <= v.prevSeq {
		return broken(e.Seq, ErrInserted)
	}
	selfOK := Digest(e, e.PrevHash) == e.Hash
	if e.Seq != v.prevSeq+1 {
		// A gap: rows removed, whether or not the link still holds.
		return broken(v.prevSeq+1, ErrMissing)
	}
	if e.PrevHash != v.prevHash {
		renumbered := func(by int64) bool {
			o := e
			o.Seq += by
			return Digest(o, e.PrevHash) == e.Hash
		}
		switch {
		case v.n > 0 && e.PrevHash == v.prevPrevHash:
			// e points past the event before it: that one was slipped in.
			return broken(v.prevSeq, ErrInserted)
		case selfOK:
			// e is whole but the event before is not the one it was
			// chained to: that event was changed and its hash recomputed.
			return broken(v.prevSeq, ErrAltered)
		case renumbered(1):
			// e was numbered one higher when chained: an event before it
			// was removed and the rest moved down.
			return broken(e.Seq, ErrMissing)
		case renumbered(-1):
			return broken(e.Seq-1, ErrInserted)
		}
		return broken(e.Seq, ErrAltered)
	}
	if !selfOK {
		return broken(e.Seq, ErrAltered)
	}
	v.prevSeq, v.prevPrevHash, v.prevHash = e.Seq, v.prevHash, e.Hash
	v.n++
	return nil
}

// Count is the number of events checked so far.
func (v *Verifier) Count() int64 { return v.n }

// Head is the last event checked.
func (v *Verifier) Head() (int64, string) { return v.prevSeq, v.prevHash }
