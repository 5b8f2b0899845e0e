package webfilter

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

// Receiver is one web filter's accounting listener.
type Receiver struct {
	// Name names the receiver in logs, metrics and its queue file.
	Name string
	// Address is the filter's accounting listener, host:port (UDP).
	Address string
	// Secret is the RADIUS shared secret the filter has for Keystage.
	Secret string
	// UserName is the User-Name the filter expects, with {user} where the
	// username goes: "{user}", "{user}@school.example" or
	// "SCHOOL\{user}". Empty: "{user}".
	UserName string
	// Attributes are the optional attributes sent (see Attributes for the
	// names); nil: DefaultAttributes. Acct-Status-Type, Acct-Session-Id,
	// Acct-Delay-Time and Event-Timestamp are always sent.
	Attributes []string
	// ClassGroups, when set, send one Class per group of the person whose
	// name matches one of these patterns (path.Match: "year-*", "staff");
	// unset: the Class of the person's RADIUS policy.
	ClassGroups []string
	// FilterIDGroups, when set, send as Filter-Id the first of the
	// person's groups (in this order of patterns) that matches; unset:
	// the Filter-Id of the person's RADIUS policy.
	FilterIDGroups []string
	// DropNASRestarts leaves out Accounting-On and -Off, for a filter that
	// takes one as the end of every session it heard from the sender
	// (Keystage) rather than only those of the NAS in NAS-IP-Address.
	DropNASRestarts bool
	// MaxBytes and MaxRecords bound the queue on disk; when full, the
	// oldest events are dropped. Defaults 64 MiB and 200,000.
	MaxBytes   int64
	MaxRecords int
	// Timeout is how long an Accounting-Response is awaited before the
	// request is sent again (3 tries in all); default 2s. Backoff is the
	// first wait after the receiver failed to answer, doubled each time up
	// to MaxBackoff; defaults 1s and 1m.
	Timeout    time.Duration
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Attributes are the optional attribute names a receiver may choose.
var Attributes = []string{"User-Name", "Framed-IP-Address", "Calling-Station-Id", "Called-Station-Id",
	"NAS-IP-Address", "NAS-Identifier", "Class", "Filter-Id", "Acct-Session-Time", "Acct-Terminate-Cause"}

// DefaultAttributes are sent when a receiver names none: all of them.
var DefaultAttributes = Attributes

func (r Receiver) withDefaults() Receiver {
	if r.UserName == "" {
		r.UserName = "{user}"
	}
	if r.Attributes == nil {
		r.Attributes = DefaultAttributes
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 64 << 20
	}
	if r.MaxRecords <= 0 {
		r.MaxRecords = 200000
	}
	if r.Timeout <= 0 {
		r.Timeout = 2 * time.Second
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = time.Minute
	}
	return r
}

// Validate says what is wrong with a receiver, all at once.
func (r Receiver) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if r.Name == "" || strings.ContainsAny(r.Name, `/\. `) || len(r.Name) > 64 {
		add("receiver name %q: use letters, digits, - and _ (it names the queue file)", r.Name)
	}
	if _, _, err := net.SplitHostPort(r.Address); err != nil {
		add("receiver %s: address %q: want host:port, like 10.0.0.5:1813", r.Name, r.Address)
	}
	if len(r.Secret) < 8 {
		add("receiver %s: secret: at least 8 characters, the same as the filter has for Keystage", r.Name)
	}
	if r.UserName != "" && strings.Count(r.UserName, "{user}") != 1 {
		add(`receiver %s: user_name %q: put {user} where the username goes, once ("{user}@school.example", "SCHOOL\\{user}")`, r.Name, r.UserName)
	}
	for _, a := range r.Attributes {
		if !slices.Contains(Attributes, a) {
			add("receiver %s: attribute %q: choose from %s", r.Name, a, strings.Join(Attributes, ", "))
		}
	}
	for _, g := range append(slices.Clone(r.ClassGroups), r.FilterIDGroups...) {
		if _, err := path.Match(g, ""); err != nil {
			add("receiver %s: group pattern %q: %v", r.Name, g, err)
		}
	}
	if r.MaxBytes < 0 || r.MaxRecords < 0 {
		add("receiver %s: max_bytes and max_records: 0 (the default) or more", r.Name)
	}
	return p
}

func (r Receiver) wants(attr string) bool { return slices.Contains(r.Attributes, attr) }

// packet makes the Accounting-Request that tells the receiver of e, as
// sent at now (the time it waited is its Acct-Delay-Time).
func (r Receiver) packet(e Event, now time.Time) *layeh.Packet {
	p := layeh.New(layeh.CodeAccountingRequest, []byte(r.Secret))
	var st rfc2866.AcctStatusType
	switch e.Status {
	case Start:
		st = rfc2866.AcctStatusType_Value_Start
	case InterimUpdate:
		st = rfc2866.AcctStatusType_Value_InterimUpdate
	case Stop:
		st = rfc2866.AcctStatusType_Value_Stop
	case AccountingOn:
		st = rfc2866.AcctStatusType_Value_AccountingOn
	case AccountingOff:
		st = rfc2866.AcctStatusType_Value_AccountingOff
	}
	rfc2866.AcctStatusType_Set(p, st)
	session := e.SessionID
	if session == "" {
		// Accounting-On and -Off have no session; RFC 2866 asks for an id
		// all the same.
		session = "keystage-" + strings.ToLower(string(e.Status)) + "-" + e.NASAddress
	}
	add := func(t layeh.Type, v string) {
		if v != "" && len(v) <= 253 {
			p.Add(t, layeh.Attribute(v))
		}
	}
	add(rfc2866.AcctSessionID_Type, session)
	delay := now.Sub(e.At)
	if delay < 0 {
		delay = 0
	}
	rfc2866.AcctDelayTime_Set(p, rfc2866.AcctDelayTime(min(delay/time.Second, 1<<32-1)))
	rfc2869.EventTimestamp_Set(p, e.At)
	if r.wants("NAS-IP-Address") {
		if a, err := netip.ParseAddr(e.NASAddress); err == nil && a.Unmap().Is4() {
			rfc2865.NASIPAddress_Set(p, a.Unmap().AsSlice())
		}
	}
	if r.wants("NAS-Identifier") {
		add(rfc2865.NASIdentifier_Type, e.NASName)
	}
	if e.Status == AccountingOn || e.Status == AccountingOff {
		return p
	}
	if r.wants("User-Name") && e.Username != "" {
		add(rfc2865.UserName_Type, strings.Replace(r.UserName, "{user}", e.Username, 1))
	}
	if r.wants("Framed-IP-Address") {
		if a, err := netip.ParseAddr(e.FramedIP); err == nil && a.Unmap().Is4() {
			rfc2865.FramedIPAddress_Set(p, a.Unmap().AsSlice())
		}
	}
	if r.wants("Calling-Station-Id") {
		add(rfc2865.CallingStationID_Type, e.CallingStation)
	}
	if r.wants("Called-Station-Id") {
		add(rfc2865.CalledStationID_Type, e.CalledStation)
	}
	if r.wants("Class") {
		for _, c := range r.classes(e) {
			add(rfc2865.Class_Type, c)
		}
	}
	if r.wants("Filter-Id") {
		add(rfc2865.FilterID_Type, r.filterID(e))
	}
	if r.wants("Acct-Session-Time") && !e.StartedAt.IsZero() && e.Status != Start {
		if d := e.At.Sub(e.StartedAt); d >= 0 {
			rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(min(d/time.Second, 1<<32-1)))
		}
	}
	if r.wants("Acct-Terminate-Cause") && e.Status == Stop {
		if v, ok := terminateCauses[e.TerminateCause]; ok {
			rfc2866.AcctTerminateCause_Set(p, v)
		}
	}
	return p
}

var terminateCauses = func() map[string]rfc2866.AcctTerminateCause {
	m := map[string]rfc2866.AcctTerminateCause{}
	for v, name := range rfc2866.AcctTerminateCause_Strings {
		m[name] = v
	}
	return m
}()

// classes are the Class attributes for e's person.
func (r Receiver) classes(e Event) []string {
	if len(r.ClassGroups) == 0 {
		if e.Class == "" {
			return nil
		}
		return []string{e.Class}
	}
	var out []string
	for _, g := range e.Groups {
		for _, pat := range r.ClassGroups {
			if ok, _ := path.Match(pat, g); ok {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// filterID is the Filter-Id for e's person.
func (r Receiver) filterID(e Event) string {
	if len(r.FilterIDGroups) == 0 {
		return e.FilterID
	}
	for _, pat := range r.FilterIDGroups {
		for _, g := range e.Groups {
			if ok, _ := path.Match(pat, g); ok {
				return g
			}
		}
	}
	return ""
}
