package audit

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// eventLine is one line of the JSON Lines export: every field the hash
// covers, so that the export can be verified on its own.
type eventLine struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	Actor    string          `json:"actor"`
	Action   Action          `json:"action"`
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

// EventCSVHeader is the trail's CSV header: the JSON Lines keys, in order.
var EventCSVHeader = []string{"seq", "time", "actor", "action", "target", "before", "after", "prev_hash", "hash"}

// EventCSVWriter writes events as CSV for a spreadsheet: a UTF-8 byte
// order mark, a header, and one row an event with the JSON Lines export's
// fields (before and after as JSON text). An actor, action or target that
// starts like a formula gets a leading ' (as in the register), so the
// JSON Lines export is the one to verify the chain from.
type EventCSVWriter struct {
	w   *csv.Writer
	rec []string
}

// NewEventCSVWriter writes the byte order mark and the header to w.
func NewEventCSVWriter(w io.Writer) (*EventCSVWriter, error) {
	if _, err := io.WriteString(w, UTF8BOM); err != nil {
		return nil, err
	}
	c := &EventCSVWriter{w: csv.NewWriter(w), rec: make([]string, len(EventCSVHeader))}
	return c, c.w.Write(EventCSVHeader)
}

// Write writes one event as one row.
func (c *EventCSVWriter) Write(e Event) error {
	c.rec[0] = strconv.FormatInt(e.Seq, 10)
	c.rec[1] = e.Time.UTC().Format(time.RFC3339Nano)
	c.rec[2], c.rec[3], c.rec[4] = csvSafe(e.Actor), csvSafe(string(e.Action)), csvSafe(e.Target)
	c.rec[5], c.rec[6] = string(validJSON(e.Before)), string(validJSON(e.After))
	c.rec[7], c.rec[8] = e.PrevHash, e.Hash
	return c.w.Write(c.rec)
}

// Flush writes what is buffered; call it once all events are written.
func (c *EventCSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
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
