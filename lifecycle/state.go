package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"keystage.dev/keystage/directory"
)

// state is the part of the directory a plan is made from: the accounts
// and groups the MIS owns, their memberships, and what the sync keeps
// between runs.
type state struct {
	byMIS    map[string]*directory.Account // MIS-owned accounts by MIS id
	manualID map[string]string             // MIS id → username of an account kept by hand
	names    map[string]bool               // every username held now
	groups   map[string]directory.Group    // every group by name
	member   map[int64][]string            // MIS account id → the MIS groups it is in, sorted
	missing  map[string]int
	queue    []directory.SyncRefusal
	lastSync *directory.SyncRun // the last applied sync
	accounts []*directory.Account
}

// load reads the state through r (the store, or the apply's transaction).
func load(ctx context.Context, r directory.Reader, progress func(done int)) (*state, error) {
	st := &state{byMIS: map[string]*directory.Account{}, manualID: map[string]string{}, names: map[string]bool{},
		groups: map[string]directory.Group{}, member: map[int64][]string{}}
	q := directory.AccountQuery{Limit: 5000}
	for {
		page, err := r.ListAccounts(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range page {
			a := &page[i]
			st.names[a.Username] = true
			switch {
			case a.Source == directory.SourceMIS && a.MISID != "":
				st.byMIS[a.MISID] = a
				st.accounts = append(st.accounts, a)
			case a.MISID != "":
				st.manualID[a.MISID] = a.Username
			}
		}
		if progress != nil {
			progress(len(st.names))
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	byName := make(map[string]int64, len(st.accounts))
	for _, a := range st.accounts {
		byName[a.Username] = a.ID
	}
	gs, err := r.ListGroups(ctx, directory.GroupQuery{})
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		st.groups[g.Name] = g
		if g.Source != directory.SourceMIS {
			continue
		}
		members, err := r.Members(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			id, ok := byName[m]
			if !ok {
				continue // a manual account in an MIS group: not ours to weigh
			}
			// A slice, not a set: at 200,000 people a map each costs hundreds of MiB.
			st.member[id] = append(st.member[id], g.Name)
		}
	}
	for _, gs := range st.member {
		sort.Strings(gs)
	}
	if st.missing, err = r.MissingRuns(ctx); err != nil {
		return nil, err
	}
	if st.queue, err = r.SyncRefusals(ctx); err != nil {
		return nil, err
	}
	runs, err := r.SyncRuns(ctx, "sync", 50)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if runs[i].Applied {
			st.lastSync = &runs[i]
			break
		}
	}
	return st, nil
}

// fingerprint digests everything a plan was made from, so that applying
// it later can tell whether the directory has changed meanwhile. It
// covers the MIS accounts (every field the sync reads or writes), the
// groups and the MIS memberships, the missing-run counts, the refusal
// queue and the last applied sync; it leaves out what a plan never
// depends on (passwords, signatures, suspensions, sessions), so that a
// school day of AUP signings does not spoil a reviewed plan. A username
// taken by hand meanwhile is caught when the apply creates the account.
func (st *state) fingerprint() string {
	h := sha256.New()
	var buf [8]byte
	num := func(n int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	for _, id := range sortedKeys(st.byMIS) {
		a := st.byMIS[id]
		num(a.ID)
		for _, s := range []string{a.MISID, a.Username, string(a.Role), string(a.Status), a.GivenName, a.FamilyName,
			a.DisplayName, a.Email, a.YearGroup, a.RegGroup, directory.FormatDate(a.StartDate), directory.FormatDate(a.LeaveDate),
			a.DisableReason} {
			str(s)
		}
		num(a.DisabledAt.UnixMicro())
		gs := st.member[a.ID]
		num(int64(len(gs)))
		for _, g := range gs {
			str(g)
		}
	}
	for _, id := range sortedKeys(st.manualID) {
		str(id)
		str(st.manualID[id])
	}
	for _, n := range sortedKeys(st.groups) {
		g := st.groups[n]
		num(g.ID)
		str(n)
		str(string(g.Kind))
		str(string(g.Source))
	}
	for _, id := range sortedKeys(st.missing) {
		str(id)
		num(int64(st.missing[id]))
	}
	for _, q := range st.queue {
		str(fmt.Sprintf("%s|%s|%d|%s", q.MISID, q.File, q.Line, q.Reason))
	}
	if st.lastSync != nil {
		num(st.lastSync.ID)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// holdPurged marks the usernames of accounts purged since since as held:
// read once, as a query per candidate would cost minutes at the start of a
// year.
func (st *state) holdPurged(ctx context.Context, r directory.Reader, since time.Time) error {
	purged, err := r.PurgedUsernames(ctx, since)
	if err != nil {
		return err
	}
	for _, n := range purged {
		st.names[n] = true
	}
	return nil
}
