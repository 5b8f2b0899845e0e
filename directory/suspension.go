package directory

import (
	"fmt"
	"strings"
	"time"
)

// SuspensionScope says which services a suspension takes away: the
// graded sanctions of a school's policy ("restricting access to the
// Internet" against "withdrawing the facility completely").
type SuspensionScope string

// The scopes. A named service is SuspendService(svc): "service:ldap",
// "service:wifi" or "service:portal".
const (
	// SuspendAll takes all network access away: LDAP (desktop login) and
	// Wi-Fi. The portal stays open, so that the person can read that they
	// are suspended and until when; "service:portal" closes it.
	SuspendAll SuspensionScope = "all"
	// SuspendInternet takes the internet and Wi-Fi away: RADIUS refuses,
	// while LDAP desktop login and the portal still work.
	SuspendInternet SuspensionScope = "internet"
)

// suspendServicePrefix names one service in a scope.
const suspendServicePrefix = "service:"

// SuspendService is the scope that takes one service away.
func SuspendService(svc Service) SuspensionScope {
	return SuspensionScope(suspendServicePrefix + string(svc))
}

// ParseSuspensionScope reads a scope as typed in a command or a form; the
// empty string is SuspendAll.
func ParseSuspensionScope(v string) (SuspensionScope, error) {
	sc := SuspensionScope(strings.TrimSpace(strings.ToLower(v)))
	if sc == "" {
		return SuspendAll, nil
	}
	if sc == SuspendAll || sc == SuspendInternet {
		return sc, nil
	}
	switch Service(strings.TrimPrefix(string(sc), suspendServicePrefix)) {
	case ServiceLDAP, ServiceWiFi, ServicePortal:
		if strings.HasPrefix(string(sc), suspendServicePrefix) {
			return sc, nil
		}
	}
	return "", invalid("%q is not a suspension scope: use all, internet, service:ldap, service:wifi or service:portal.", v)
}

// Describe says the scope in words for staff.
func (sc SuspensionScope) Describe() string {
	switch sc {
	case "", SuspendAll:
		return "all network access (desktop login and Wi-Fi)"
	case SuspendInternet:
		return "the internet and Wi-Fi only"
	case SuspendService(ServiceLDAP):
		return "desktop login (LDAP) only"
	case SuspendService(ServiceWiFi):
		return "Wi-Fi only"
	case SuspendService(ServicePortal):
		return "the portal only"
	}
	return string(sc)
}

// Suspension takes a person's network access away for a period, with a
// reason; it ends on its own at Until, or when lifted. One with a LiftRole
// has no end date: it ends only when someone holding that staff role lifts
// it and records the conversation held first.
type Suspension struct {
	ID          int64
	AccountID   int64
	Scope       SuspensionScope // empty reads as SuspendAll
	From        time.Time
	Until       time.Time // zero: until lifted
	Reason      string
	IncidentRef string
	CreatedBy   string
	CreatedAt   time.Time
	LiftedAt    time.Time
	LiftedBy    string
	// LiftRole, when set, is the staff role that alone may lift it
	// ("safeguarding", say); such a suspension never ends on a date.
	LiftRole string
	// The conversation recorded at the lift: with whom, when, and a note.
	TalkWith string
	TalkAt   time.Time
	TalkNote string
}

// ActiveAt reports whether s is in force at t.
func (s Suspension) ActiveAt(t time.Time) bool {
	if t.Before(s.From) {
		return false
	}
	if !s.Until.IsZero() && !t.Before(s.Until) {
		return false
	}
	return s.LiftedAt.IsZero() || t.Before(s.LiftedAt)
}

// Covers reports whether s takes svc away. The all scope does not close
// the portal (see SuspendAll).
func (s Suspension) Covers(svc Service) bool {
	switch s.Scope {
	case "", SuspendAll:
		return svc == ServiceLDAP || svc == ServiceWiFi
	case SuspendInternet:
		return svc == ServiceWiFi
	}
	return s.Scope == SuspendService(svc)
}

// TakesInternet reports whether s takes the internet away, wherever the
// person is (the all and internet scopes): a web filter told of a desktop
// sign-in marks them so.
func (s Suspension) TakesInternet() bool {
	return s.Scope == "" || s.Scope == SuspendAll || s.Scope == SuspendInternet
}

// Public is s without what only safeguarding roles may read: the reason,
// the incident reference and the note of the conversation. Others see that
// access is suspended, what it covers and until when.
func (s Suspension) Public() Suspension {
	s.Reason, s.IncidentRef, s.TalkNote, s.TalkWith = "", "", "", ""
	return s
}

// Lifting is what lifting a suspension needs besides the actor: the staff
// roles the actor holds and, for a suspension with a LiftRole, the
// conversation held first.
type Lifting struct {
	Roles []string
	With  string    // who took part in the conversation
	At    time.Time // when it was held; zero: now
	Note  string
}

func (l Lifting) has(role string) bool {
	for _, r := range l.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// liftCheck refuses a lift that s does not allow.
func liftCheck(s Suspension, l Lifting, now time.Time) error {
	if s.LiftRole == "" {
		return nil
	}
	if !l.has(s.LiftRole) {
		return fmt.Errorf("only the %s role may lift suspension %d: %w", s.LiftRole, s.ID, ErrRoleRequired)
	}
	switch {
	case strings.TrimSpace(l.With) == "":
		return invalid("Say who took part in the conversation before this suspension is lifted.")
	case strings.TrimSpace(l.Note) == "":
		return invalid("Write a note of the conversation held before this suspension is lifted.")
	case l.At.After(now):
		return invalid("The conversation cannot be in the future.")
	}
	return nil
}
