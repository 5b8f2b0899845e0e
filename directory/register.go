package directory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// registerPage is how many accounts the current register reads at a time.
const registerPage = 500

// Register gives the access register, one row per person (service
// accounts, which are applications, are left out), to emit. With a
// zero asOf it is the register now, read from the store page by page in
// constant memory. With asOf set it is the register as it stood then,
// rebuilt from the audit trail alone: people purged since appear, changes
// made since do not. The rebuild holds one small record per person who
// ever had an account (not per event); last LDAP and Wi-Fi use are not in
// the trail, so they are blank in it.
func (d *Directory) Register(ctx context.Context, asOf time.Time, emit func(audit.RegisterRow) error) error {
	if asOf.IsZero() {
		return d.currentRegister(ctx, emit)
	}
	return d.registerAsOf(ctx, asOf, emit)
}

// accessGranted is the first day an account could be used: its start
// date, or its creation when it started before it was created.
func accessGranted(created, start time.Time) time.Time {
	if start.After(created) {
		return start
	}
	return created
}

func (d *Directory) currentRegister(ctx context.Context, emit func(audit.RegisterRow) error) error {
	return d.currentRegisterOf(ctx, "", emit)
}

func (d *Directory) currentRegisterOf(ctx context.Context, school string, emit func(audit.RegisterRow) error) error {
	now := d.Now()
	docs, err := d.store.AUPDocuments(ctx)
	if err != nil {
		return err
	}
	byID := map[int64]AUPDocument{}
	for _, doc := range docs {
		byID[doc.ID] = doc
	}
	q := AccountQuery{Limit: registerPage, School: school}
	for {
		page, err := d.store.ListAccounts(ctx, q)
		if err != nil {
			return err
		}
		for _, a := range page {
			if a.Role == RoleService {
				continue // an application's account, not a person's
			}
			row, err := d.currentRow(ctx, a, byID, now)
			if err != nil {
				return err
			}
			if err := emit(row); err != nil {
				return err
			}
		}
		if len(page) < q.Limit {
			return nil
		}
		q.AfterID = page[len(page)-1].ID
	}
}

// registerLegalName is the register's legal name column: the legal name,
// or "withheld" when it must not be shown.
func registerLegalName(a Account) string {
	if a.LegalNameWithheld {
		return "withheld"
	}
	return a.LegalName()
}

func (d *Directory) currentRow(ctx context.Context, a Account, docs map[int64]AUPDocument, now time.Time) (audit.RegisterRow, error) {
	s := d.store
	auds := d.gate.Policy.AudiencesOf(a)
	row := audit.RegisterRow{Name: a.Name(), LegalName: registerLegalName(a), Role: string(a.Role), YearGroup: a.YearGroup, RegGroup: a.RegGroup,
		MISID: a.MISID, Username: a.Username, State: string(a.Status), AccessGranted: accessGranted(a.CreatedAt, a.StartDate),
		AUPAudience: strings.Join(auds, " "), LeaveDate: a.LeaveDate, Disabled: a.DisabledAt, School: registerSchool(a.School, a.AlsoSchools)}
	sigs, err := s.Signatures(ctx, a.ID)
	if err != nil {
		return row, err
	}
	for _, sg := range sigs { // oldest first: the last one that counts wins
		doc, ok := docs[sg.DocumentID]
		if ok && slices.Contains(auds, doc.Audience) {
			row.AUPVersion, row.AUPSigned, row.AUPMethod = doc.Version, sg.SignedAt, string(sg.Method)
		}
	}
	consents, err := s.Consents(ctx, a.ID)
	if err != nil {
		return row, err
	}
	for _, c := range consents {
		// A refusal or a withdrawal is recorded as a decision, not as
		// consent given.
		if c.Decision.agreed() && (c.WithdrawnAt.IsZero() || c.WithdrawnAt.After(now)) {
			row.ConsentGiven = c.GivenAt
		}
	}
	wifi, err := s.Credentials(ctx, a.ID, CredWiFi)
	if err != nil {
		return row, err
	}
	if len(wifi) > 0 { // newest first
		row.WiFiIssued, row.WiFiRevoked = wifi[0].CreatedAt, wifi[0].RevokedAt
	}
	keys, err := s.Credentials(ctx, a.ID, CredPasskey)
	if err != nil {
		return row, err
	}
	for _, k := range keys {
		if k.Live(now) {
			row.Passkeys++
		}
	}
	uses, err := s.LastUse(ctx, a.ID)
	if err != nil {
		return row, err
	}
	row.LastLDAP, row.LastWiFi = uses[ServiceLDAP], uses[ServiceWiFi]
	susp, err := s.Suspensions(ctx, a.ID)
	if err != nil {
		return row, err
	}
	for _, x := range susp {
		if x.ActiveAt(now) {
			row.SuspendedFrom, row.SuspendedUntil, row.SuspensionRef = x.From, x.Until, x.IncidentRef
		}
	}
	// Access now: the gate's own answer for a sign-in (LDAP) at this
	// instant, from the facts already read; a lockout lasts minutes and
	// is left out.
	all := make([]AUPDocument, 0, len(docs))
	for _, doc := range docs {
		all = append(all, doc)
	}
	row.Access = "no"
	if d.gate.Policy.Decide(Facts{Account: a, Suspensions: susp, Signatures: sigs, Consents: consents, Documents: all}, ServiceLDAP, now).Allow {
		row.Access = "yes"
	}
	return row, nil
}

// person is what the rebuild keeps of one person: small, since there is
// one for everyone who ever had an account.
type person struct {
	snap       AccountSnapshot
	created    time.Time
	disabled   time.Time
	purged     time.Time
	signed     []signedAUP // the latest of each audience
	consent    time.Time
	wifiIssued time.Time
	wifiRevoke time.Time
	passkeys   int
	susp       []pastSuspension
}

type signedAUP struct {
	audience, version, method string
	at                        time.Time
}

type pastSuspension struct {
	id                  int64
	from, until, lifted time.Time
	ref                 string
}

// eventState is the union of the After fields the rebuild reads.
type eventState struct {
	Username     string    `json:"username"`
	Role         Role      `json:"role"`
	Status       Status    `json:"status"`
	Audience     string    `json:"audience"`
	Version      string    `json:"version"`
	Method       string    `json:"method"`
	GivenAt      time.Time `json:"given_at"`
	From         time.Time `json:"from"`
	Until        time.Time `json:"until"`
	IncidentRef  string    `json:"incident_ref"`
	SuspensionID int64     `json:"suspension_id"`
	LiftedAt     time.Time `json:"lifted_at"`
	// Account is the snapshot inside a guest.create event.
	Account *AccountSnapshot `json:"account"`
}

// registerAsOf rebuilds the register as it stood at asOf from the audit
// trail: it reads the events up to then (and a clock skew beyond, for
// nodes whose clocks differ), applies each about an account to the person
// it is about, and emits a row for everyone who had an account.
func (d *Directory) registerAsOf(ctx context.Context, asOf time.Time, emit func(audit.RegisterRow) error) error {
	r := newRebuild(asOf, d.gate.Policy.consentAudience())
	for e, err := range Events(ctx, d.store, 0) {
		if err != nil {
			return err
		}
		if e.Time.After(asOf.Add(ClockSkew)) {
			break
		}
		if e.Time.After(asOf) {
			continue
		}
		r.apply(e)
	}
	for _, p := range r.order {
		if p.created.IsZero() || p.snap.Role == RoleService {
			continue // events about someone whose account the trail never shows; apps are not people
		}
		if err := emit(d.pastRow(p, asOf)); err != nil {
			return err
		}
	}
	return nil
}

// rebuild is the register's state as the trail tells it, one event at a
// time. Any event about "account:NAME" whose After is an AccountSnapshot
// sets the person's details, whatever its action (create, update, move,
// disable, …); the other actions it reads are in apply.
type rebuild struct {
	asOf       time.Time
	consentAud string             // the audience whose signature is consent
	people     map[string]*person // by username now
	order      []*person          // everyone, in the order they appear
}

func newRebuild(asOf time.Time, consentAud string) *rebuild {
	return &rebuild{asOf: asOf, consentAud: consentAud, people: map[string]*person{}}
}

// get is the person called name now, new when there is none.
func (r *rebuild) get(name string) *person {
	p := r.people[name]
	if p == nil {
		p = &person{}
		r.people[name] = p
		r.order = append(r.order, p)
	}
	return p
}

// apply takes from e what the register shows, when e is about an account.
func (r *rebuild) apply(e audit.Event) {
	name, ok := audit.TargetName(e.Target, audit.KindAccount)
	if !ok {
		return
	}
	var after eventState
	if len(e.After) > 0 {
		if err := json.Unmarshal(e.After, &after); err != nil {
			return // not ours to read; the verifier speaks for the chain
		}
	}
	switch {
	case e.Action == audit.ActionAccountPurge:
		if p := r.people[name]; p != nil {
			p.purged = e.Time
		}
	case (strings.HasPrefix(string(e.Action), audit.KindAccount+".") || e.Action == audit.ActionGuestCreate) &&
		(after.Account != nil || (after.Username != "" && after.Role != "")):
		r.account(name, e, after)
	case e.Action == audit.ActionAUPSign:
		r.signed(r.get(name), e, after)
	case e.Action == audit.ActionConsentAdd:
		p := r.get(name)
		p.consent = after.GivenAt
		if p.consent.IsZero() {
			p.consent = e.Time
		}
	case e.Action == audit.ActionConsentRemove || e.Action == audit.ActionConsentRefuse:
		r.get(name).consent = time.Time{}
	case e.Action == audit.ActionWiFiIssue:
		p := r.get(name)
		p.wifiIssued, p.wifiRevoke = e.Time, time.Time{}
	case e.Action == audit.ActionWiFiRevoke:
		r.get(name).wifiRevoke = e.Time
	case e.Action == audit.ActionPasskeyAdd:
		r.get(name).passkeys++
	case e.Action == audit.ActionPasskeyRemove:
		if p := r.get(name); p.passkeys > 0 {
			p.passkeys--
		}
	case e.Action == audit.ActionSuspensionAdd:
		r.suspended(r.get(name), e, after)
	case e.Action == audit.ActionSuspensionLift:
		lifted(r.get(name), e, after)
	}
}

// account applies an event that carries the account's snapshot: the After
// itself, or under "account" (a guest's creation, and every change the
// MIS sync makes).
func (r *rebuild) account(name string, e audit.Event, after eventState) {
	var snap AccountSnapshot
	if after.Account != nil {
		snap = *after.Account
	} else if err := json.Unmarshal(e.After, &snap); err != nil {
		return
	}
	if snap.Username != name { // renamed: the record follows the person
		if p := r.people[name]; p != nil {
			delete(r.people, name)
			r.people[snap.Username] = p
		}
		name = snap.Username
	}
	if p := r.people[name]; p != nil && !p.purged.IsZero() {
		delete(r.people, name) // a username reused after a purge is a new person
	}
	p := r.get(name)
	if p.created.IsZero() {
		p.created = e.Time
	}
	switch {
	case snap.Status == StatusDisabled && p.snap.Status != StatusDisabled:
		p.disabled = e.Time
	case snap.Status != StatusDisabled:
		p.disabled = time.Time{}
	}
	p.snap = snap
	if e.Action == audit.ActionGuestCreate { // a guest's Wi-Fi credential comes with the account
		p.wifiIssued, p.wifiRevoke = e.Time, time.Time{}
	}
}

// signed applies a signature: consent when it is of the consent
// audience, else the latest signature of its audience.
func (r *rebuild) signed(p *person, e audit.Event, after eventState) {
	if after.Audience == r.consentAud {
		p.consent = e.Time
		return
	}
	sg := signedAUP{audience: after.Audience, version: after.Version, method: after.Method, at: e.Time}
	if i := slices.IndexFunc(p.signed, func(x signedAUP) bool { return x.audience == sg.audience }); i >= 0 {
		p.signed[i] = sg
	} else {
		p.signed = append(p.signed, sg)
	}
}

// suspended applies a suspension's start, forgetting those that can no
// longer be in force at asOf.
func (r *rebuild) suspended(p *person, e audit.Event, after eventState) {
	from := after.From
	if from.IsZero() {
		from = e.Time
	}
	p.susp = append(pruneSuspensions(p.susp, r.asOf), pastSuspension{id: after.SuspensionID, from: from, until: after.Until, ref: after.IncidentRef})
}

// lifted applies a suspension's lift, matched by id when the add carried
// one, else to the latest in force.
func lifted(p *person, e audit.Event, after eventState) {
	at := after.LiftedAt
	if at.IsZero() {
		at = e.Time
	}
	for i := len(p.susp) - 1; i >= 0; i-- {
		x := &p.susp[i]
		if x.lifted.IsZero() && (after.SuspensionID == 0 || x.id == 0 || x.id == after.SuspensionID) {
			x.lifted = at
			break
		}
	}
}

// pruneSuspensions drops the suspensions that cannot be in force at asOf
// (ended or lifted by then; a lift is only read when it is before asOf),
// so that a person suspended every week for years costs no more memory.
func pruneSuspensions(susp []pastSuspension, asOf time.Time) []pastSuspension {
	return slices.DeleteFunc(susp, func(x pastSuspension) bool {
		return !x.lifted.IsZero() || (!x.until.IsZero() && !x.until.After(asOf))
	})
}

func (d *Directory) pastRow(p *person, asOf time.Time) audit.RegisterRow {
	s := p.snap
	start, _ := ParseDate(s.StartDate)
	leave, _ := ParseDate(s.LeaveDate)
	a := Account{Username: s.Username, Role: s.Role, YearGroup: s.YearGroup, GivenName: s.GivenName,
		FamilyName: s.FamilyName, DisplayName: s.DisplayName, Source: s.Source, MISID: s.MISID, LegalNameWithheld: s.LegalNameWithheld}
	auds := d.gate.Policy.AudiencesOf(a)
	row := audit.RegisterRow{Name: a.Name(), LegalName: registerLegalName(a), Role: string(s.Role), YearGroup: s.YearGroup, RegGroup: s.RegGroup,
		MISID: s.MISID, Username: s.Username, State: string(s.Status), AccessGranted: accessGranted(p.created, start),
		AUPAudience: strings.Join(auds, " "), ConsentGiven: p.consent, WiFiIssued: p.wifiIssued, WiFiRevoked: p.wifiRevoke,
		Passkeys: p.passkeys, LeaveDate: leave, Disabled: p.disabled, Purged: p.purged, School: registerSchool(s.School, s.AlsoSchools)}
	if !p.purged.IsZero() {
		row.State = "purged"
	}
	for _, sg := range p.signed {
		if slices.Contains(auds, sg.audience) && sg.at.After(row.AUPSigned) {
			row.AUPVersion, row.AUPSigned, row.AUPMethod = sg.version, sg.at, sg.method
		}
	}
	for _, x := range p.susp {
		sp := Suspension{From: x.from, Until: x.until, LiftedAt: x.lifted}
		if sp.ActiveAt(asOf) {
			row.SuspendedFrom, row.SuspendedUntil, row.SuspensionRef = x.from, x.until, x.ref
		}
	}
	return row
}
