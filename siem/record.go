// Package siem offers what a security team's collector wants from Keystage
// (every audit event as it is appended, every signed checkpoint, and the
// warnings of the log) as RFC 5424 syslog messages over TLS (RFC 5425) or
// as JSON Lines in a file for an agent. Delivery must never hold up what
// produced a message: each destination has a bounded queue that drops the
// oldest message when full, and reconnects with back-off. The records are
// described field by field in docs/siem.md; nothing secret is ever in one,
// as nothing secret is ever in an audit event or a log line.
package siem

import (
	"encoding/json"
	"log/slog"
	"time"

	"keystage.dev/keystage/audit"
)

// Severity is a syslog severity (RFC 5424 section 6.2.1).
type Severity int

// The severities Keystage uses.
const (
	SevError   Severity = 3
	SevWarning Severity = 4
	SevNotice  Severity = 5
	SevInfo    Severity = 6
)

func (s Severity) String() string {
	switch s {
	case SevError:
		return "error"
	case SevWarning:
		return "warning"
	case SevNotice:
		return "notice"
	}
	return "info"
}

// Message is one record on its way to a destination.
type Message struct {
	Time     time.Time
	Severity Severity
	MsgID    string // the syslog MSGID: the action, "checkpoint" or "log"
	Body     []byte // one JSON object, no newline
}

// Record types: the "keystage" field of every record.
const (
	TypeEvent = "audit.event"
	TypeLog   = "log"
	// audit.WitnessType ("audit.checkpoint") for a checkpoint.
)

// eventSeverity grades an action for a collector's filters: refusals and
// lockouts warn, actions that take access away or delete are notices.
func eventSeverity(action string) Severity {
	switch action {
	case "signin.locked", "signin.failures", "refused":
		return SevWarning
	case "suspension.add", "account.disable", "account.purge", "wifi.revoke", "passkey.remove",
		"radius.disconnect", "consent.withdraw", "group.delete", "nas.remove", audit.ActionPrune:
		return SevNotice
	}
	return SevInfo
}

type eventRecord struct {
	Keystage string          `json:"keystage"`
	Host     string          `json:"host"`
	Severity string          `json:"severity"`
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

// EventMessage is the record of an audit event.
func EventMessage(e audit.Event, host string) Message {
	sev := eventSeverity(string(e.Action))
	body, err := json.Marshal(eventRecord{Keystage: TypeEvent, Host: host, Severity: sev.String(), Seq: e.Seq,
		Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: string(e.Action), Target: e.Target,
		Before: validJSON(e.Before), After: validJSON(e.After), PrevHash: e.PrevHash, Hash: e.Hash})
	if err != nil {
		panic("siem: event record: " + err.Error())
	}
	return Message{Time: e.Time, Severity: sev, MsgID: string(e.Action), Body: body}
}

// CheckpointMessage is the record of a signed checkpoint: the witness
// record that audit verify --witness reads back.
func CheckpointMessage(c audit.Checkpoint) Message {
	return Message{Time: c.Time, Severity: SevNotice, MsgID: "checkpoint", Body: audit.WitnessRecord(c)}
}

type logRecord struct {
	Keystage string         `json:"keystage"`
	Host     string         `json:"host"`
	Severity string         `json:"severity"`
	Time     string         `json:"time"`
	Level    string         `json:"level"`
	Msg      string         `json:"msg"`
	Attrs    map[string]any `json:"attrs,omitempty"`
}

// LogMessage is the record of a log line.
func LogMessage(r slog.Record, attrs map[string]any, host string) Message {
	sev := SevInfo
	switch {
	case r.Level >= slog.LevelError:
		sev = SevError
	case r.Level >= slog.LevelWarn:
		sev = SevWarning
	}
	body, err := json.Marshal(logRecord{Keystage: TypeLog, Host: host, Severity: sev.String(),
		Time: r.Time.UTC().Format(time.RFC3339Nano), Level: r.Level.String(), Msg: r.Message, Attrs: attrs})
	if err != nil {
		// An attribute that cannot be encoded: keep the line, lose the attributes.
		body, _ = json.Marshal(logRecord{Keystage: TypeLog, Host: host, Severity: sev.String(),
			Time: r.Time.UTC().Format(time.RFC3339Nano), Level: r.Level.String(), Msg: r.Message})
	}
	return Message{Time: r.Time, Severity: sev, MsgID: "log", Body: body}
}

func validJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return b
}
