package portal

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// guestDurations are the expiries a sponsor chooses from.
var guestDurations = []struct {
	Value string
	Label string
	D     time.Duration
}{
	{"4h", "4 hours", 4 * time.Hour},
	{"8h", "8 hours (a school day)", 8 * time.Hour},
	{"24h", "1 day", 24 * time.Hour},
	{"72h", "3 days", 72 * time.Hour},
	{"168h", "1 week", 168 * time.Hour},
	{"336h", "2 weeks", 336 * time.Hour},
}

func (s *Server) guestForm(w http.ResponseWriter, r *http.Request, rq *request) {
	s.render(w, r, http.StatusOK, "guests.html", rq, "Guest access", map[string]any{
		"Durations": s.durations(), "Sponsor": rq.acct.Name()})
}

func (s *Server) durations() []struct {
	Value string
	Label string
	D     time.Duration
} {
	var out []struct {
		Value string
		Label string
		D     time.Duration
	}
	for _, d := range guestDurations {
		if d.D <= s.cfg.Guests.MaxLifetime {
			out = append(out, d)
		}
	}
	return out
}

// guestUsername is "guest-" and six random digits, retried until free.
func guestUsername(ctx context.Context, tx directory.Tx, now time.Time) (string, error) {
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", err
		}
		u := fmt.Sprintf("guest-%06d", n.Int64())
		taken, err := tx.UsernameTaken(ctx, u, now.AddDate(-1, 0, 0))
		if err != nil {
			return "", err
		}
		if !taken {
			return u, nil
		}
	}
	return "", fmt.Errorf("no free guest username after 20 tries")
}

// guestIssue makes a guest account in one transaction: the account, a
// portal password and a Wi-Fi credential, both ending at the expiry (the
// account's leave date closes it at the end of that day at the latest),
// and the audit event naming the sponsor. The guest signs the community
// AUP on first sign-in: the gate keeps the Wi-Fi closed until then.
func (s *Server) guestIssue(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	given := strings.TrimSpace(r.PostFormValue("given"))
	family := strings.TrimSpace(r.PostFormValue("family"))
	sponsor := strings.TrimSpace(r.PostFormValue("sponsor"))
	purpose := strings.TrimSpace(r.PostFormValue("purpose"))
	var dur time.Duration
	for _, d := range s.durations() {
		if d.Value == r.PostFormValue("duration") {
			dur = d.D
		}
	}
	data := map[string]any{"Durations": s.durations(), "Sponsor": sponsor, "Given": given, "Family": family, "Purpose": purpose}
	switch {
	case given == "" || family == "":
		data["Error"] = "Give the visitor's first name and family name."
		var empty []string
		if given == "" {
			empty = append(empty, "given")
		}
		if family == "" {
			empty = append(empty, "family")
		}
		data["Invalid"] = empty
	case sponsor == "":
		data["Error"] = "Name the member of staff who sponsors the visitor."
		data["Invalid"] = []string{"sponsor"}
	case dur == 0:
		data["Error"] = "Choose how long the access lasts."
		data["Invalid"] = []string{"duration"}
	}
	if data["Error"] != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "guests.html", rq, "Guest access", data)
		return
	}
	now := s.d.Now()
	expires := now.Add(dur)
	a := directory.Account{Role: directory.RoleGuest, Source: directory.SourceManual, GivenName: given, FamilyName: family,
		StartDate: dateOnly(now, s.loc), LeaveDate: dateOnly(expires, s.loc)}
	pol := s.d.Policy(a)
	login, err := passwords.GenerateWiFi(pol)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	wifi, err := passwords.GenerateWiFi(pol)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	hash, err := s.d.Hasher.Hash(login)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	sealed, keyID, err := s.d.SealChecked(ctx, []byte(wifi), []byte(directory.SealWiFi))
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	err = s.d.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if a.Username, err = guestUsername(ctx, tx, now); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: hash,
			CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredWiFi, Secret: sealed,
			KeyID: keyID, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		if g, err := tx.GroupByName(ctx, "guests"); err == nil {
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
		}
		return s.d.Record(ctx, tx, audit.UserActor(rq.acct.Username), audit.ActionGuestCreate, audit.AccountTarget(a.Username), nil, map[string]any{
			"account": a.Snapshot(), "sponsor": sponsor, "purpose": purpose, "expires_at": expires})
	})
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "guestslip.html", rq, "Guest access slip", map[string]any{
		"Account": a, "Login": login, "WiFi": wifi, "Expires": expires, "Sponsor": sponsor,
		"Settings": s.cfg.WiFi, "PortalURL": s.cfg.PublicURL})
}

func dateOnly(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
