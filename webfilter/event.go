// Package webfilter tells a school's web filter (Smoothwall, Lightspeed,
// Fortinet, Netsweeper and the like) who is behind each address, so that
// it can filter by person and by group. It forwards RADIUS accounting to
// the filter's accounting listener, each receiver through a bounded queue
// on disk so that a filter that restarts misses nothing; it announces the
// desktop LDAP binds of people (never of service accounts or application
// servers) the same way; and it answers an authenticated HTTP feed of who
// is at an address now, or was at a time.
//
// It must never hold up authentication: the RADIUS and LDAP frontends only
// hand it events, which it appends to its queues; the sending happens in
// goroutines of its own. It reads the directory but never changes it.
package webfilter

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is an accounting record's Acct-Status-Type, by its RFC 2866 name.
type Status string

// The statuses forwarded.
const (
	Start          Status = "Start"
	InterimUpdate  Status = "Interim-Update"
	Stop           Status = "Stop"
	AccountingOn   Status = "Accounting-On"
	AccountingOff  Status = "Accounting-Off"
	statusMaxBytes        = 32
)

// Where an event came from.
const (
	SourceRADIUS     = "radius"     // the access point's own accounting
	SourceDisconnect = "disconnect" // Keystage ended the session (suspension, leaver, Disconnect)
	SourceLDAP       = "ldap"       // a person's own LDAP bind from a desktop
)

// Event is one thing a receiver is told: a session started, carries on, or
// stopped, or an access point started or stopped. It is what each
// receiver's queue holds (as JSON); how it is put to the receiver (the
// User-Name's form, the attributes sent) is the receiver's, at send time.
type Event struct {
	Status Status    `json:"status"`
	Source string    `json:"source"`
	At     time.Time `json:"at"` // when it happened (the NAS's Acct-Delay-Time taken off)

	Username       string    `json:"user,omitempty"`
	SessionID      string    `json:"session,omitempty"`
	FramedIP       string    `json:"ip,omitempty"`
	CallingStation string    `json:"mac,omitempty"`
	CalledStation  string    `json:"called,omitempty"`
	NASName        string    `json:"nas,omitempty"`
	NASAddress     string    `json:"nas_address,omitempty"`
	StartedAt      time.Time `json:"started,omitzero"`
	TerminateCause string    `json:"cause,omitempty"`

	// Groups are the person's groups when the event was made; FilterID and
	// Class are the RADIUS policy's for them (what the Access-Accept gave).
	Groups   []string `json:"groups,omitempty"`
	FilterID string   `json:"filter_id,omitempty"`
	Class    string   `json:"class,omitempty"`
}

// ErrBadEvent is a queue record that is not an event.
var ErrBadEvent = errors.New("web filter event: malformed")

// decodeEvent reads an event from a queue record.
func decodeEvent(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	switch e.Status {
	case Start, InterimUpdate, Stop, AccountingOn, AccountingOff:
	default:
		return Event{}, fmt.Errorf("%w: status %.*q", ErrBadEvent, statusMaxBytes, e.Status)
	}
	return e, nil
}
