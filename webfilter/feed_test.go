package webfilter

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

func TestFeed(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0.Add(2 * time.Hour)}
	dir := fakeDir{
		groups: map[int64][]string{1: {"pupils", "year-7"}, 2: {"pupils", "year-9"}},
		sessions: []directory.Session{
			{AccountID: 1, Username: "apupil", SessionID: "A", FramedIP: "10.20.0.5", NASName: "hall-ap", CallingStation: "02-00-00-00-00-01",
				StartedAt: t0, UpdatedAt: t0.Add(time.Hour), StoppedAt: t0.Add(time.Hour)},
			{AccountID: 2, Username: "bpupil", SessionID: "B", FramedIP: "10.20.0.5", NASName: "hall-ap", StartedAt: t0.Add(90 * time.Minute), UpdatedAt: t0.Add(90 * time.Minute)},
		},
	}
	f, _ := newTestForwarder(t, Announce{}, dir, clock)
	defer f.Close()
	feed := f.NewFeed(dir, []Token{
		{Name: "smoothwall", SHA256: sha256.Sum256([]byte("filter-token"))},
		{Name: "dsl", SHA256: sha256.Sum256([]byte("history-token")), History: true},
	}, func(gs []string) (string, string) { return "pupils-filtered", "pupil" })
	ask := func(token, path string) (int, Answer) {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		feed.ServeHTTP(w, r)
		var a Answer
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
		}
		return w.Code, a
	}
	for _, tok := range []string{"", "wrong", "filter-token-longer"} {
		if code, _ := ask(tok, FeedPath+"/10.20.0.5"); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d", tok, code)
		}
	}
	code, a := ask("filter-token", FeedPath+"/10.20.0.5")
	if code != 200 || len(a.People) != 1 || a.People[0].User != "bpupil" || a.People[0].FilterID != "pupils-filtered" ||
		len(a.People[0].Groups) != 2 || a.People[0].Groups[1] != "year-9" {
		t.Errorf("now: %d %+v", code, a)
	}
	if code, _ := ask("filter-token", FeedPath+"/10.20.0.5?at=2026-03-02T09:30:00Z"); code != http.StatusForbidden {
		t.Errorf("history with a filter's token: %d", code)
	}
	code, a = ask("history-token", FeedPath+"/10.20.0.5?at=2026-03-02T09:30:00Z")
	if code != 200 || len(a.People) != 1 || a.People[0].User != "apupil" || a.People[0].MAC != "02-00-00-00-00-01" || !a.People[0].Stopped.Equal(t0.Add(time.Hour)) {
		t.Errorf("at 9:30: %d %+v", code, a)
	}
	if code, a := ask("history-token", FeedPath+"/10.20.0.6"); code != 200 || len(a.People) != 0 {
		t.Errorf("nobody: %d %+v", code, a)
	}
	if code, _ := ask("filter-token", FeedPath+"/not-an-address"); code != http.StatusNotFound {
		t.Errorf("bad address: %d", code)
	}
	if code, _ := ask("history-token", FeedPath+"/10.20.0.5?at=yesterday"); code != http.StatusBadRequest {
		t.Errorf("bad time: %d", code)
	}
	r := httptest.NewRequest("POST", FeedPath+"/10.20.0.5", nil)
	r.Header.Set("Authorization", "Bearer filter-token")
	w := httptest.NewRecorder()
	feed.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}
