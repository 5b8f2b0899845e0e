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
)

// ChainError names the first event at which the chain breaks.
type ChainError struct {
	Seq int64
	Err error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %v", e.Seq, e.Err)
}
func (e *ChainError) Unwrap() error { return e.Err }

// Verifier checks a chain streamed to it in order of Seq, one event at a
// time, in constant memory.
type Verifier struct {
	prevSeq  int64
	prevHash string
	n        int64
}

// NewVerifier starts a verification after the event (seq, hash); zero
// values start at the beginning of the chain.
func NewVerifier(afterSeq int64, afterHash string) *Verifier {
	return &Verifier{prevSeq: afterSeq, prevHash: afterHash}
}

// Next checks one event. The first problem found is returned as *ChainError.
func (v *Verifier) Next(e Event) error {
	switch {
	case e.Seq <= v.prevSeq:
		return &ChainError{Seq: e.Seq, Err: ErrInserted}
	case e.PrevHash != v.prevHash:
		// A gap in the sequence with a broken link is a removal; a link that
		// does not match without a gap is an insertion or an alteration of
		// the event before.
		if e.Seq != v.prevSeq+1 {
			return &ChainError{Seq: v.prevSeq + 1, Err: ErrMissing}
		}
		return &ChainError{Seq: e.Seq, Err: ErrInserted}
	case Digest(e, e.PrevHash) != e.Hash:
		return &ChainError{Seq: e.Seq, Err: ErrAltered}
	case e.Seq != v.prevSeq+1:
		// Linked correctly but numbered with a gap: renumbered events.
		return &ChainError{Seq: v.prevSeq + 1, Err: ErrMissing}
	}
	v.prevSeq, v.prevHash = e.Seq, e.Hash
	v.n++
	return nil
}

// Count is the number of events checked so far.
func (v *Verifier) Count() int64 { return v.n }

// Head is the last event checked.
func (v *Verifier) Head() (int64, string) { return v.prevSeq, v.prevHash }
