package audit

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// A witness keeps a copy of every signed checkpoint off the host, where the
// server cannot rewrite it (a remote syslog collector, an HTTP endpoint
// that keeps what it receives). One witnessed checkpoint pins, through the
// hash chain, every event up to it: a trail rewritten or truncated in the
// database no longer matches the witness, even after every checkpoint in
// the database was deleted or re-signed.

// WitnessType marks a checkpoint's witness record: the JSON object a
// witness receives and keeps, wherever it sits in the collector's line.
const WitnessType = "audit.checkpoint"

// witnessMarker starts every witness record, so that a record is found
// whatever the collector puts before it on the line (a timestamp, a host).
const witnessMarker = `{"keystage":"` + WitnessType + `"`

// witnessRecord is the witness record of a checkpoint; see docs/siem.md.
type witnessRecord struct {
	Keystage  string `json:"keystage"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// WitnessRecord encodes c as its witness record, one line of JSON without
// the newline.
func WitnessRecord(c Checkpoint) []byte {
	b, err := json.Marshal(witnessRecord{Keystage: WitnessType, Seq: c.Seq, Hash: c.Hash,
		Time: c.Time.UTC().Format(time.RFC3339Nano), KeyID: c.KeyID, Signature: c.Signature})
	if err != nil {
		panic("audit: witness record: " + err.Error())
	}
	return b
}

// Errors of a witness's copy.
var (
	// ErrWitnessDamaged is a witness line that has the marker of a
	// checkpoint but cannot be read as one.
	ErrWitnessDamaged = errors.New("witness record cannot be read")
	// ErrWitnessConflict is a witness holding two different checkpoints of
	// one event: the signing key signed two histories.
	ErrWitnessConflict = errors.New("witness holds two different checkpoints of one event")
)

// maxWitnessLine bounds one line of a witness's copy; a checkpoint's record
// is some 300 bytes.
const maxWitnessLine = 64 << 10

// ParseWitness reads the checkpoints in a witness's copy: any text with one
// record a line, as a collector stores them (rsyslog prefixes a timestamp
// and a host; a JSON Lines file has the record alone). Lines without a
// record are skipped. The checkpoints come back in order of Seq, each event
// once; their signatures are not checked here (see Keys.Verify).
func ParseWitness(r io.Reader) ([]Checkpoint, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxWitnessLine)
	bySeq := map[int64]Checkpoint{}
	line := 0
	for sc.Scan() {
		line++
		c, ok, err := parseWitnessLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("witness line %d: %w", line, err)
		}
		if !ok {
			continue
		}
		if old, dup := bySeq[c.Seq]; dup {
			if old.Hash != c.Hash {
				return nil, fmt.Errorf("witness line %d: event %d: %w (%s and %s)", line, c.Seq, ErrWitnessConflict, old.Hash, c.Hash)
			}
			continue // sent twice (several nodes, a retry): the same checkpoint
		}
		bySeq[c.Seq] = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("witness line %d: %w", line+1, err)
	}
	out := make([]Checkpoint, 0, len(bySeq))
	for _, c := range bySeq {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

func parseWitnessLine(b []byte) (Checkpoint, bool, error) {
	i := bytes.Index(b, []byte(witnessMarker))
	if i < 0 {
		return Checkpoint{}, false, nil
	}
	var rec witnessRecord
	if err := json.NewDecoder(bytes.NewReader(b[i:])).Decode(&rec); err != nil {
		return Checkpoint{}, false, fmt.Errorf("%w: %v", ErrWitnessDamaged, err)
	}
	at, err := time.Parse(time.RFC3339Nano, rec.Time)
	switch {
	case err != nil:
		return Checkpoint{}, false, fmt.Errorf("%w: time %q", ErrWitnessDamaged, rec.Time)
	case rec.Seq <= 0:
		return Checkpoint{}, false, fmt.Errorf("%w: event %d", ErrWitnessDamaged, rec.Seq)
	case len(rec.Hash) != 64:
		return Checkpoint{}, false, fmt.Errorf("%w: hash %q", ErrWitnessDamaged, rec.Hash)
	}
	return Checkpoint{Seq: rec.Seq, Hash: rec.Hash, Time: at.UTC(), KeyID: rec.KeyID, Signature: rec.Signature}, true, nil
}

// ActionPrune is the event of a retention prune: the events before
// Prune.FirstSeq were deleted, lawfully. It is chained and checkpointed
// like any event, so a witness records it, and a trail whose start is gone
// verifies only when such an event, under a checkpoint, says where it now
// starts and which hash it continues from.
const ActionPrune = "audit.prune"

// Prune is the After of an ActionPrune event. It is signed with the
// checkpoint key (under its own context, so that no checkpoint's signature
// passes for a prune's): someone who can write the database but not read
// the key cannot record a prune to hide the events they deleted, even
// though the server would then sign a checkpoint over their record.
type Prune struct {
	FirstSeq  int64     `json:"first_seq"` // the first event kept
	PrevHash  string    `json:"prev_hash"` // the hash of the last event deleted, which FirstSeq chains onto
	Removed   int64     `json:"removed"`   // how many events were deleted
	Before    time.Time `json:"before"`    // events recorded before this were asked to go
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

const pruneContext = "keystage audit prune v1\x00"

func pruneMessage(p Prune) []byte {
	msg := make([]byte, 0, len(pruneContext)+24+len(p.PrevHash))
	msg = append(msg, pruneContext...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(p.FirstSeq))
	msg = binary.BigEndian.AppendUint64(msg, uint64(p.Removed))
	msg = binary.BigEndian.AppendUint64(msg, uint64(p.Before.UTC().UnixMicro()))
	return append(msg, p.PrevHash...)
}

// SignPrune signs p, setting KeyID and Signature.
func (s *Signer) SignPrune(p *Prune) {
	p.Before = p.Before.UTC().Truncate(time.Microsecond)
	sig, err := s.key.Sign(nil, pruneMessage(*p), crypto.Hash(0))
	if err != nil {
		panic("audit: ed25519 sign: " + err.Error())
	}
	p.KeyID, p.Signature = s.id, sig
}

// VerifyPrune checks p's signature.
func (k Keys) VerifyPrune(p Prune) error {
	pub, ok := k[p.KeyID]
	if !ok {
		return fmt.Errorf("prune of the events before %d: %w (key %q)", p.FirstSeq, ErrUnknownKey, p.KeyID)
	}
	if !ed25519.Verify(pub, pruneMessage(p), p.Signature) {
		return fmt.Errorf("prune of the events before %d: %w", p.FirstSeq, ErrBadSignature)
	}
	return nil
}

// PruneOf reads the prune an event records (false: it records none).
func PruneOf(e Event) (Prune, bool) {
	if e.Action != ActionPrune {
		return Prune{}, false
	}
	var p Prune
	if err := json.Unmarshal(e.After, &p); err != nil || p.FirstSeq <= 0 {
		return Prune{}, false
	}
	return p, true
}
