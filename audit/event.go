// Package audit holds the audit event, the hash chain that makes the trail
// tamper-evident, and its verification. It does no I/O of its own: stores
// persist events and hand them back here to be checked. Nothing secret may
// ever be put in an event.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Event is one entry of the audit trail: who did what to whom, with the
// state before and after (never a secret).
type Event struct {
	Seq    int64     // position in the chain, from 1; assigned by the store
	Time   time.Time // when the change happened
	Actor  string    // who: "user:jsmith", "sync", "job:leavers", "cli:root"
	Action Action    // what: "account.create", "suspension.add", ... (see Action)
	Target string    // whom: "account:jsmith", "group:7A", "nas:core-wlc"
	Before json.RawMessage
	After  json.RawMessage
	// PrevHash is the Hash of the event before (empty for the first);
	// Hash covers every field above and PrevHash.
	PrevHash string
	Hash     string
}

// Digest computes the hash of e chained onto prev. The encoding is
// length-prefixed so that no two different events share an input.
func Digest(e Event, prev string) string {
	h := sha256.New()
	var buf [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(buf[:], uint64(e.Seq))
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], uint64(e.Time.UTC().UnixMicro()))
	h.Write(buf[:])
	field([]byte(e.Actor))
	field([]byte(e.Action))
	field([]byte(e.Target))
	field(compact(e.Before))
	field(compact(e.After))
	field([]byte(prev))
	return hex.EncodeToString(h.Sum(nil))
}

// compact normalises JSON so that a database that reformats JSON text
// (PostgreSQL jsonb would) cannot break the chain; invalid JSON is hashed as
// it is, so it is still detected when altered.
func compact(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// Chain links e onto the event before it, setting PrevHash and Hash.
func Chain(e *Event, prev string) {
	e.PrevHash = prev
	e.Hash = Digest(*e, prev)
}

// Snapshot encodes v as JSON for Before or After. It panics on a value that
// cannot be encoded, which is a programming error.
func Snapshot(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("audit: snapshot: " + err.Error())
	}
	return b
}
