package audit

import (
	"encoding/json"
	"io"
	"time"
)

// eventLine is one line of the JSON Lines export: every field the hash
// covers, so that the export can be verified on its own.
type eventLine struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// EventWriter writes events as JSON Lines, one at a time.
type EventWriter struct{ enc *json.Encoder }

// NewEventWriter writes to w.
func NewEventWriter(w io.Writer) *EventWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &EventWriter{enc: enc}
}

// Write writes one event as one line.
func (w *EventWriter) Write(e Event) error {
	return w.enc.Encode(eventLine{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
		Action: e.Action, Target: e.Target, Before: validJSON(e.Before), After: validJSON(e.After),
		PrevHash: e.PrevHash, Hash: e.Hash})
}

// validJSON keeps a line valid even when a stored state is not JSON (a
// tampered row): it is then written as a JSON string.
func validJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// ReadEvent parses one line of the export back into an event.
func ReadEvent(line []byte) (Event, error) {
	var l eventLine
	if err := json.Unmarshal(line, &l); err != nil {
		return Event{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return Event{}, err
	}
	return Event{Seq: l.Seq, Time: t, Actor: l.Actor, Action: l.Action, Target: l.Target,
		Before: l.Before, After: l.After, PrevHash: l.PrevHash, Hash: l.Hash}, nil
}
