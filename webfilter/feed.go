package webfilter

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Token lets one filter (or one investigator's tool) read the feed. Only
// its SHA-256 is kept, so the configuration file does not hold it.
type Token struct {
	Name   string
	SHA256 [32]byte
	// History allows "who had this address at this time" (investigations);
	// without it, only "who is at this address now".
	History bool
}

// ParseTokenHash reads a token's SHA-256 written in hex.
func ParseTokenHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("want the token's SHA-256 as 64 hex digits (printf %%s TOKEN | sha256sum)")
	}
	copy(h[:], b)
	return h, nil
}

// FeedPath is where the feed answers.
const FeedPath = "/webfilter/v1/address"

// Person is one person behind an address, as the feed tells it.
type Person struct {
	User     string    `json:"user"`
	Groups   []string  `json:"groups"`
	FilterID string    `json:"filter_id,omitempty"`
	Class    string    `json:"class,omitempty"`
	Source   string    `json:"source"` // radius or ldap
	Session  string    `json:"session"`
	MAC      string    `json:"mac,omitempty"`
	NAS      string    `json:"nas,omitempty"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated,omitzero"`
	Stopped  time.Time `json:"stopped,omitzero"`
}

// Answer is the feed's reply: who was at Address at At, the most recent
// first (the first is the one to believe when an access point missed a
// Stop).
type Answer struct {
	Address string    `json:"address"`
	At      time.Time `json:"at"`
	People  []Person  `json:"people"`
}

// Feed answers GET FeedPath/ADDRESS[?at=RFC3339] for holders of a token
// (Authorization: Bearer TOKEN).
type Feed struct {
	f      *Forwarder
	dir    Directory
	tokens []Token
	policy func(groups []string) (filterID, class string)
	log    *slog.Logger
}

// NewFeed makes the feed's handler.
func (f *Forwarder) NewFeed(dir Directory, tokens []Token, policy func([]string) (string, string)) *Feed {
	return &Feed{f: f, dir: dir, tokens: tokens, policy: policy, log: f.log}
}

// token finds the token presented, comparing against every one in
// constant time.
func (h *Feed) token(r *http.Request) (Token, bool) {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(auth[len(prefix):]))
	var found Token
	ok := 0
	for _, t := range h.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.SHA256[:]) == 1 {
			found, ok = t, 1
		}
	}
	return found, ok == 1
}

func (h *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	t, ok := h.token(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keystage web filter feed"`)
		fail(http.StatusUnauthorized, "send the filter's token as Authorization: Bearer TOKEN")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(http.StatusMethodNotAllowed, "the feed is read-only: use GET")
		return
	}
	rest, found := strings.CutPrefix(r.URL.Path, FeedPath+"/")
	ip, err := netip.ParseAddr(rest)
	if !found || err != nil {
		fail(http.StatusNotFound, "ask for "+FeedPath+"/ADDRESS, e.g. "+FeedPath+"/10.0.0.5")
		return
	}
	ip = ip.Unmap()
	now := h.f.now()
	at := now
	history := false
	if s := r.URL.Query().Get("at"); s != "" {
		if !t.History {
			fail(http.StatusForbidden, "this token may ask only who is at an address now; a token with history = true may ask about a past time")
			return
		}
		if at, err = time.Parse(time.RFC3339, s); err != nil {
			fail(http.StatusBadRequest, "at: write the time as RFC 3339, e.g. 2026-03-02T09:30:00Z")
			return
		}
		history = true
	}
	ans, err := h.answer(r, ip.String(), at, !history)
	if err != nil {
		h.log.Error("web filter feed", "err", err)
		fail(http.StatusServiceUnavailable, "the directory is unavailable; try again")
		return
	}
	if history {
		// An investigation names a person from an address: who asked is
		// worth keeping.
		h.log.Info("web filter feed: who had an address", "token", t.Name, "address", ans.Address, "at", at, "people", len(ans.People))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ans)
}

func (h *Feed) answer(r *http.Request, ip string, at time.Time, live bool) (Answer, error) {
	ctx := r.Context()
	ans := Answer{Address: ip, At: at.UTC(), People: []Person{}}
	if live {
		if e, ok := h.f.ann.at(ip, at); ok {
			ans.People = append(ans.People, Person{User: e.Username, Groups: e.Groups, FilterID: e.FilterID, Class: e.Class,
				Source: SourceLDAP, Session: e.SessionID, Started: e.StartedAt})
		}
	}
	sessions, err := h.dir.SessionsAt(ctx, ip, at)
	if err != nil {
		return ans, err
	}
	for _, x := range sessions {
		p := Person{User: x.Username, Groups: []string{}, Source: SourceRADIUS, Session: x.SessionID, MAC: x.CallingStation,
			NAS: x.NASName, Started: x.StartedAt, Updated: x.UpdatedAt, Stopped: x.StoppedAt}
		if x.AccountID != 0 {
			// Today's groups: the store keeps no history of membership.
			gs, err := h.dir.GroupsOf(ctx, x.AccountID)
			if err != nil {
				return ans, err
			}
			for _, g := range gs {
				p.Groups = append(p.Groups, g.Name)
			}
			if h.policy != nil {
				p.FilterID, p.Class = h.policy(p.Groups)
			}
		}
		ans.People = append(ans.People, p)
	}
	slices.SortStableFunc(ans.People, func(a, b Person) int { return b.Started.Compare(a.Started) })
	return ans, nil
}
