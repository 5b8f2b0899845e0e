package directory

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"keystage.dev/keystage/audit"
)

// heldCredential is a credential as a subject access request shows it:
// what it is and when, never the secret.
type heldCredential struct {
	ID        int64
	Kind      CredentialKind
	Name      string
	KeyID     string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
	LastUsed  time.Time
}

// PersonRecord writes, as one JSON object, everything held about the
// person with this username, for a subject access request: the account,
// its groups, credentials (never their secrets), signatures, consents,
// suspensions, network sessions, last use and every audit event about
// them. The events are streamed, however many there are. A person whose
// account has been purged is still found through the audit trail.
//
// The record has the register's schema (see audit.RecordValue): its
// "register" is the person's row exactly as the register export writes
// it, and every other key is snake_case with dates in loc (nil: UTC) and
// "" when unset. The audit events keep the trail export's form, which
// carries the hash chain.
func (d *Directory) PersonRecord(ctx context.Context, username string, loc *time.Location, w io.Writer) error {
	return d.personRecord(ctx, username, loc, w, false)
}

// PersonRecordWithheld is PersonRecord with third parties' data withheld
// (see withholdThirdParties): who else made each change, a parent's name,
// who approved. The events' hashes are then of what was recorded, not of
// what is shown, and the record says so.
func (d *Directory) PersonRecordWithheld(ctx context.Context, username string, loc *time.Location, w io.Writer) error {
	return d.personRecord(ctx, username, loc, w, true)
}

func (d *Directory) personRecord(ctx context.Context, username string, loc *time.Location, w io.Writer, withhold bool) error {
	s := d.store
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	field := func(name string, v any) error {
		fmt.Fprintf(bw, "%q: ", name)
		return enc.Encode(v) // Encode ends with a newline, which JSON allows
	}
	target := audit.AccountTarget(username)
	a, err := s.AccountByUsername(ctx, username)
	held := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if !held {
		if evs, err := s.AuditEventsAbout(ctx, target, 0, 1); err != nil {
			return err
		} else if len(evs) == 0 {
			return fmt.Errorf("person %s: %w: no account and no audit event names them", username, ErrNotFound)
		}
	}
	fmt.Fprintf(bw, "{\n")
	if err := field("username", username); err != nil {
		return err
	}
	bw.WriteString(",")
	if err := field("exported_at", audit.RecordValue(d.Now(), loc)); err != nil {
		return err
	}
	if withhold {
		bw.WriteString(",")
		if err := field("third_parties", "withheld: other people's names and usernames are replaced by \"withheld\"; "+
			"the audit events' hashes are of the events as recorded"); err != nil {
			return err
		}
	}
	if held {
		var (
			groups   []string
			creds    []heldCredential
			sessions []Session
		)
		gs, err := s.GroupsOf(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, g := range gs {
			groups = append(groups, g.Name)
		}
		for _, kind := range []CredentialKind{CredPassword, CredWiFi, CredPasskey} {
			cs, err := s.Credentials(ctx, a.ID, kind)
			if err != nil {
				return err
			}
			for _, c := range cs {
				creds = append(creds, heldCredential{ID: c.ID, Kind: c.Kind, Name: c.Name, KeyID: c.KeyID,
					CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, RevokedAt: c.RevokedAt, LastUsed: c.LastUsed})
			}
		}
		sigs, err := s.Signatures(ctx, a.ID)
		if err != nil {
			return err
		}
		consents, err := s.Consents(ctx, a.ID)
		if err != nil {
			return err
		}
		susp, err := s.Suspensions(ctx, a.ID)
		if err != nil {
			return err
		}
		if sessions, err = s.Sessions(ctx, a.ID, time.Time{}, false); err != nil {
			return err
		}
		uses, err := s.LastUse(ctx, a.ID)
		if err != nil {
			return err
		}
		approvals, err := s.Approvals(ctx, a.ID)
		if err != nil {
			return err
		}
		devices, err := s.Devices(ctx, a.ID)
		if err != nil {
			return err
		}
		var register any // an application's account is not in the register
		if a.Role != RoleService {
			docs, err := s.AUPDocuments(ctx)
			if err != nil {
				return err
			}
			byID := map[int64]AUPDocument{}
			for _, doc := range docs {
				byID[doc.ID] = doc
			}
			row, err := d.currentRow(ctx, a, byID, d.Now())
			if err != nil {
				return err
			}
			register = audit.RegisterRowJSON(row, loc)
		}
		bw.WriteString(",")
		if err := field("register", register); err != nil {
			return err
		}
		if a.LegalNameWithheld {
			// The legal name is withheld for this person: the export gives
			// the name they are known by, never the legal one.
			a.DisplayName = a.Name()
			a.GivenName, a.FamilyName = "", ""
		}
		for _, f := range []struct {
			name string
			v    any
		}{{"account", a}, {"groups", groups}, {"credentials", creds}, {"signatures", sigs}, {"consents", consents},
			{"suspensions", susp}, {"sessions", sessions}, {"last_use", uses}, {"approvals", approvals}, {"devices", devices}} {
			bw.WriteString(",")
			v := audit.RecordValue(f.v, loc)
			if withhold {
				v = withholdThirdParties(v, username)
			}
			if err := field(f.name, v); err != nil {
				return err
			}
		}
	} else {
		bw.WriteString(",")
		if err := field("account", nil); err != nil {
			return err
		}
		bw.WriteString(",")
		if err := field("note", "This account has been purged: only the audit trail still holds events about it."); err != nil {
			return err
		}
	}
	bw.WriteString(`,"audit_events": [`)
	ew := audit.NewEventWriter(bw)
	n := 0
	for e, err := range EventsAbout(ctx, s, target) {
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		if held && a.LegalNameWithheld {
			e.Before, e.After = withoutLegalName(e.Before), withoutLegalName(e.After)
		}
		if withhold {
			e = withholdEvent(e, username)
		}
		if err := ew.Write(e); err != nil {
			return err
		}
		n++
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// withoutLegalName is an event's snapshot with the legal names
// (given_name, family_name) taken out, wherever they are in it, for the
// subject access export of a person whose legal name is withheld.
func withoutLegalName(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil // not JSON: leave nothing out that could hold the name
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "given_name")
			delete(x, "family_name")
			for _, y := range x {
				strip(y)
			}
		case []any:
			for _, y := range x {
				strip(y)
			}
		}
	}
	strip(v)
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}
