package directory

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Service is what an account asks to use.
type Service string

// The services the gate decides on.
const (
	ServiceLDAP   Service = "ldap"
	ServiceWiFi   Service = "wifi"
	ServicePortal Service = "portal"
)

// Reason is why the gate refused. Frontends map it to their protocol: an
// LDAP diagnostic, a RADIUS Reply-Message, a page in the portal.
type Reason string

// The reasons for refusal, in the order the gate checks them.
const (
	ReasonNone            Reason = ""
	ReasonDisabled        Reason = "disabled"         // disabled by hand or by the leaver job
	ReasonNotStarted      Reason = "not-started"      // start date ahead
	ReasonLeft            Reason = "left"             // leave date passed
	ReasonSuspended       Reason = "suspended"        // a suspension is in force
	ReasonLockedOut       Reason = "locked-out"       // too many failed sign-ins
	ReasonAUPUnsigned     Reason = "aup-unsigned"     // the AUP of the audience is not signed at its current version
	ReasonConsentMissing  Reason = "consent-missing"  // a pupil without parental permission
	ReasonNoCredential    Reason = "no-credential"    // no Wi-Fi credential issued
	ReasonCredentialEnded Reason = "credential-ended" // revoked or expired
	ReasonMustChange      Reason = "must-change-password"
)

// The lockout's reasons (see Lockout): ReasonLockedOut is the account,
// locked by failures from its familiar sources.
const (
	// ReasonNewDevicesLocked: too many failed sign-ins from sources new to
	// the account; those it knows still work.
	ReasonNewDevicesLocked Reason = "new-devices-locked"
	// ReasonDeviceBlocked: this source failed too often on accounts new to
	// it; it still works for accounts that have signed in from it.
	ReasonDeviceBlocked Reason = "device-blocked"
)

// Decision is the gate's answer.
type Decision struct {
	Allow    bool
	Reason   Reason
	Until    time.Time // suspended or locked until; zero when open-ended or n/a
	Audience string    // the AUP audience missing, for ReasonAUPUnsigned
	// Quarantine is set when the only fault is an unsigned AUP (or missing
	// consent): a frontend may let the account into a walled garden that
	// reaches the portal, where it can sign.
	Quarantine bool
}

// exact is a lock's end to the second, as the lock ends.
func exact(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04:05")
}

// Message says the decision in words for the person refused.
func (d Decision) Message(loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	until := func(prefix string) string {
		if d.Until.IsZero() {
			return prefix + " until further notice"
		}
		return prefix + " until " + d.Until.In(loc).Format("Mon 2 Jan 2006 15:04")
	}
	switch d.Reason {
	case ReasonNone:
		return "Access allowed."
	case ReasonDisabled:
		return "Your account is disabled. Please speak to the IT office."
	case ReasonNotStarted:
		return "Your account is not active yet: it starts on " + d.Until.In(loc).Format("Mon 2 Jan 2006") + "."
	case ReasonLeft:
		return "Your account has ended because you have left the school."
	case ReasonSuspended:
		return until("Your network access is suspended") + "."
	case ReasonLockedOut:
		return "Too many wrong passwords: your account is locked until " + exact(d.Until, loc) +
			". Wait until then, and sign in with the right password."
	case ReasonNewDevicesLocked:
		return "Too many wrong passwords have been tried on this account from devices it has not signed in on before: " +
			"it cannot be signed in to from a new device or computer until " + exact(d.Until, loc) +
			". Devices and computers it has signed in on before still work."
	case ReasonDeviceBlocked:
		return "Too many wrong passwords have been tried from this device or computer: it is blocked from signing in until " +
			exact(d.Until, loc) + ". If this is your own device, wait until then or use one you have signed in on before."
	case ReasonAUPUnsigned:
		return "You need to read and sign the Acceptable Use Policy (" + d.Audience + ") in the portal first."
	case ReasonConsentMissing:
		return "We need permission from your parent or carer before you can use the network."
	case ReasonNoCredential:
		return "You have no Wi-Fi password yet: get one in the portal."
	case ReasonCredentialEnded:
		return "Your Wi-Fi password has ended: get a new one in the portal."
	case ReasonMustChange:
		return "Your password must first be changed: sign in to the portal and choose a new one."
	}
	return "Access refused (" + string(d.Reason) + ")."
}

// Facts are what the gate weighs for one account. Gate.Facts loads them;
// tests and caches may build them directly.
type Facts struct {
	Account     Account
	Suspensions []Suspension
	Signatures  []Signature
	Consents    []Consent
	// Documents are all published AUP documents (every audience, every
	// version).
	Documents []AUPDocument
	// WiFi are the account's Wi-Fi credentials (for ServiceWiFi).
	WiFi []Credential
}

// GatePolicy is the part of the configuration the gate follows.
type GatePolicy struct {
	// Location is the school's time zone: dates begin and end at its
	// midnight. Nil means UTC.
	Location *time.Location
	// Audiences maps an account to the AUP audiences it must have signed.
	// Nil uses DefaultAudiences.
	Audiences func(Account) []string
	// ExtraAudiences are audiences added in configuration: documents may
	// be published for them besides the built-in ones.
	ExtraAudiences []string
	// ConsentAudience is the audience of the parental permission form.
	ConsentAudience string
	// RequireConsent says which accounts need parental consent. Nil: pupils.
	RequireConsent func(Account) bool
	// LeaverGrace extends access past the leave date for some accounts.
	// Nil: none.
	LeaverGrace func(Account) time.Duration
}

// DefaultAudiences is the AUP audience by role and year group: staff sign
// the staff AUP; pupils in Reception to Year 2 the KS1 AUP, Years 3 to 6 the
// KS2 AUP, older pupils the pupil AUP; guests the community AUP. Service
// accounts sign nothing.
func DefaultAudiences(a Account) []string {
	if aud, ok := defaultAudience(a); ok {
		return []string{aud}
	}
	return nil
}

// defaultAudience is the one audience of DefaultAudiences, if any.
func defaultAudience(a Account) (string, bool) {
	switch a.Role {
	case RoleStaff:
		return "staff", true
	case RoleGuest:
		return "community", true
	case RolePupil:
		return PupilAudience(a.YearGroup), true
	}
	return "", false
}

// PupilAudience is the AUP audience for a year group.
func PupilAudience(year string) string {
	if year == "R" || year == "N" {
		return "pupil-ks1"
	}
	n, err := strconv.Atoi(year)
	switch {
	case err != nil:
		return "pupil"
	case n <= 2:
		return "pupil-ks1"
	case n <= 6:
		return "pupil-ks2"
	}
	return "pupil"
}

func (p GatePolicy) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// dayStart is midnight at the start of date d in loc.
func dayStart(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// Decide is the gate itself: a pure function of the facts, the service and
// the instant.
func (p GatePolicy) Decide(f Facts, svc Service, at time.Time) Decision {
	a := f.Account
	loc := p.loc()
	if a.Status == StatusDisabled {
		if !a.LeaveDate.IsZero() {
			return Decision{Reason: ReasonLeft}
		}
		return Decision{Reason: ReasonDisabled}
	}
	if !a.StartDate.IsZero() {
		if start := dayStart(a.StartDate, loc); at.Before(start) {
			return Decision{Reason: ReasonNotStarted, Until: start}
		}
	}
	if !a.LeaveDate.IsZero() {
		end := dayStart(a.LeaveDate, loc).AddDate(0, 0, 1)
		if p.LeaverGrace != nil {
			end = end.Add(p.LeaverGrace(a))
		}
		if !at.Before(end) {
			return Decision{Reason: ReasonLeft}
		}
	}
	// A suspension refuses only the services its scope covers (graded
	// sanctions: the internet only, one service, or all network access).
	for _, s := range f.Suspensions {
		if s.ActiveAt(at) && s.Covers(svc) {
			return Decision{Reason: ReasonSuspended, Until: s.Until}
		}
	}
	if svc == ServicePortal {
		// The portal is where AUPs are signed and passwords changed: it only
		// refuses on the account's life and a suspension naming the portal;
		// a suspension of network access does not close it. (The lockout is
		// asked before the password: see Lockout.)
		return Decision{Allow: true}
	}
	if a.MustChangePassword && svc == ServiceLDAP {
		return Decision{Reason: ReasonMustChange}
	}
	// The documents that apply are the account's school's and the trust's.
	docs := DocumentsFor(f.Documents, a.School)
	// The default audiences are taken without a slice, so that deciding
	// allocates nothing for them (the gate is asked on every request).
	var one [1]string
	auds := one[:0]
	if p.Audiences != nil {
		auds = p.Audiences(a)
	} else if aud, ok := defaultAudience(a); ok {
		auds = append(auds, aud)
	}
	for _, aud := range auds {
		if !signed(docs, f.Signatures, aud, at) {
			return Decision{Reason: ReasonAUPUnsigned, Audience: aud, Quarantine: true}
		}
	}
	if p.NeedsConsent(a) && !consented(docs, f.Consents, p.consentAudience(), at) {
		return Decision{Reason: ReasonConsentMissing, Quarantine: true}
	}
	if svc == ServiceWiFi {
		if len(f.WiFi) == 0 {
			return Decision{Reason: ReasonNoCredential}
		}
		live := false
		for _, c := range f.WiFi {
			live = live || c.Live(at)
		}
		if !live {
			return Decision{Reason: ReasonCredentialEnded}
		}
	}
	return Decision{Allow: true}
}

func (p GatePolicy) consentAudience() string {
	if p.ConsentAudience == "" {
		return "parent-permission"
	}
	return p.ConsentAudience
}

// current is the newest document of an audience published at or before at.
func current(docs []AUPDocument, audience string, at time.Time) (AUPDocument, bool) {
	var best AUPDocument
	found := false
	for _, d := range docs {
		if d.Audience != audience || d.PublishedAt.After(at) {
			continue
		}
		if !found || d.PublishedAt.After(best.PublishedAt) || (d.PublishedAt.Equal(best.PublishedAt) && d.ID > best.ID) {
			best, found = d, true
		}
	}
	return best, found
}

// signed reports whether the signatures satisfy the audience at t. An
// audience with no published document asks nothing.
func signed(docs []AUPDocument, sigs []Signature, audience string, t time.Time) bool {
	st, _ := SignedStatus(docs, sigs, audience, t)
	return st != Unsigned
}

// SignStatus says how an account's signatures meet an audience.
type SignStatus string

// The ways signatures meet an audience.
const (
	NothingToSign SignStatus = "nothing-published"
	SignedCurrent SignStatus = "signed"
	// SignedEarlier is a signature of an older version, which counts until
	// the current version's ResignFrom.
	SignedEarlier SignStatus = "signed-earlier"
	Unsigned      SignStatus = "unsigned"
)

// SignedStatus is how sigs meet audience at t, with the signature that
// counts (the current version's first, else the newest earlier one).
func SignedStatus(docs []AUPDocument, sigs []Signature, audience string, t time.Time) (SignStatus, Signature) {
	cur, ok := current(docs, audience, t)
	if !ok {
		return NothingToSign, Signature{}
	}
	byID := make(map[int64]AUPDocument, len(docs))
	for _, d := range docs {
		byID[d.ID] = d
	}
	var earlier *Signature
	for i, s := range sigs {
		d, ok := byID[s.DocumentID]
		if !ok || d.Audience != audience || s.SignedAt.After(t) {
			continue
		}
		if d.ID == cur.ID {
			return SignedCurrent, s
		}
		if cur.ResignFrom.IsZero() || t.Before(cur.ResignFrom) {
			earlier = &sigs[i]
		}
	}
	if earlier != nil {
		return SignedEarlier, *earlier
	}
	return Unsigned, Signature{}
}

// consented reports whether a pupil has parental consent in force at t,
// following the same re-signing rule for the permission form. The latest
// decision given at or before t counts (a later agreement after a refusal,
// a withdrawal after an agreement): refused or withdrawn is no consent.
func consented(docs []AUPDocument, consents []Consent, audience string, t time.Time) bool {
	var latest *Consent
	for i, c := range consents {
		if c.GivenAt.After(t) {
			continue
		}
		if latest == nil || c.GivenAt.After(latest.GivenAt) || (c.GivenAt.Equal(latest.GivenAt) && c.ID > latest.ID) {
			latest = &consents[i]
		}
	}
	if latest == nil || !latest.Decision.agreed() || (!latest.WithdrawnAt.IsZero() && !t.Before(latest.WithdrawnAt)) {
		return false
	}
	cur, hasDoc := current(docs, audience, t)
	return !hasDoc || latest.DocumentID == cur.ID || cur.ResignFrom.IsZero() || t.Before(cur.ResignFrom)
}

// Gate loads the facts for an account and decides.
type Gate struct {
	Store  Reader
	Policy GatePolicy
}

// Check decides whether account a may use svc at t.
func (g *Gate) Check(ctx context.Context, a Account, svc Service, at time.Time) (Decision, error) {
	f, err := g.Facts(ctx, a, svc, at)
	if err != nil {
		return Decision{}, err
	}
	return g.Policy.Decide(f, svc, at), nil
}

// Facts loads what Decide needs for account a.
func (g *Gate) Facts(ctx context.Context, a Account, svc Service, at time.Time) (Facts, error) {
	f := Facts{Account: a}
	var err error
	if f.Suspensions, err = g.Store.Suspensions(ctx, a.ID); err != nil {
		return f, fmt.Errorf("gate %s: %w", a.Username, err)
	}
	if f.Signatures, err = g.Store.Signatures(ctx, a.ID); err != nil {
		return f, fmt.Errorf("gate %s: %w", a.Username, err)
	}
	if f.Consents, err = g.Store.Consents(ctx, a.ID); err != nil {
		return f, fmt.Errorf("gate %s: %w", a.Username, err)
	}
	if f.Documents, err = g.Store.AUPDocuments(ctx); err != nil {
		return f, fmt.Errorf("gate %s: %w", a.Username, err)
	}
	if svc == ServiceWiFi {
		if f.WiFi, err = g.Store.Credentials(ctx, a.ID, CredWiFi); err != nil {
			return f, fmt.Errorf("gate %s: %w", a.Username, err)
		}
	}
	return f, nil
}
