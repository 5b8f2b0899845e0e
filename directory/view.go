package directory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/audit"
)

// FactsReader reads a range of accounts' facts at once, each in the order
// the read of one account's gives them: what a View loads at start. A
// store that has it is found by type assertion.
type FactsReader interface {
	// CredentialsBetween lists the credentials of every kind, revoked ones
	// too, of the accounts whose ids are above afterID and at most lastID,
	// by account, newest first.
	CredentialsBetween(ctx context.Context, afterID, lastID int64) ([]Credential, error)
	SuspensionsBetween(ctx context.Context, afterID, lastID int64) ([]Suspension, error)
	ConsentsBetween(ctx context.Context, afterID, lastID int64) ([]Consent, error)
	// ApprovalsBetween lists the approvals (personal devices, exceptions),
	// revoked and ended ones too, of those accounts, by account and id.
	ApprovalsBetween(ctx context.Context, afterID, lastID int64) ([]Approval, error)
	// MembershipsBetween lists the group memberships of those accounts.
	MembershipsBetween(ctx context.Context, afterID, lastID int64) ([]Membership, error)
}

// Membership is an account's membership of a group.
type Membership struct {
	GroupID   int64
	AccountID int64
}

// CaughtUpper is a Watcher that can say how far it has told: every change
// committed before CaughtUp, on any node, has been handed to every Watch
// (zero: not known).
type CaughtUpper interface {
	CaughtUp() time.Time
}

// ViewFreshFor is how far behind the change feed may be while a View
// answers from memory. Past it (the PostgreSQL listener is away, the SQLite
// poll fails, or the feed is held back), every read goes to the store. It
// leaves a second of the 3 s bound of several-nodes.md to the frontends.
const ViewFreshFor = 2 * time.Second

// viewPage is how many accounts a View loads at a time.
const viewPage = 5000

// accountFacts are the facts a View holds about one account: what the
// gate and the frontends read on every request. To hold another, add a
// field here, its loader to accountFactSet, and its encoding and decoding
// to view_facts.go (TestViewFactsRoundTrip fails until they are).
type accountFacts struct {
	Account     Account
	Credentials []Credential // passwords and Wi-Fi credentials, newest first
	Suspensions []Suspension
	Signatures  []Signature
	Consents    []Consent
	Approvals   []Approval // personal devices and exceptions, RADIUS's
}

// viewHolds says which credentials a View holds (the hot paths'
// ones); passkeys are read from the store.
func viewHolds(k CredentialKind) bool { return k == CredPassword || k == CredWiFi }

// factLoader reads one of accountFacts' facts: for one account (when a
// change to it is told), and for a page of accounts (at start).
type factLoader struct {
	one  func(ctx context.Context, r Reader, f *accountFacts) error
	page func(ctx context.Context, r Reader, fr FactsReader, afterID, lastID int64, byID map[int64]*accountFacts) error
}

// accountFactSet is every fact of accountFacts but the account itself.
func accountFactSet() []factLoader {
	return []factLoader{
		{ // credentials
			one: func(ctx context.Context, r Reader, f *accountFacts) error {
				f.Credentials = nil
				for _, k := range []CredentialKind{CredPassword, CredWiFi} {
					cs, err := r.Credentials(ctx, f.Account.ID, k)
					if err != nil {
						return err
					}
					f.Credentials = append(f.Credentials, cs...)
				}
				sort.SliceStable(f.Credentials, func(i, j int) bool { return f.Credentials[i].ID > f.Credentials[j].ID })
				return nil
			},
			page: func(ctx context.Context, _ Reader, fr FactsReader, a, b int64, byID map[int64]*accountFacts) error {
				cs, err := fr.CredentialsBetween(ctx, a, b)
				for _, c := range cs {
					if f := byID[c.AccountID]; f != nil && viewHolds(c.Kind) {
						f.Credentials = append(f.Credentials, c)
					}
				}
				return err
			},
		},
		listFact(func(f *accountFacts) *[]Suspension { return &f.Suspensions },
			func(x Suspension) int64 { return x.AccountID }, Reader.Suspensions,
			func(ctx context.Context, _ Reader, fr FactsReader, a, b int64) ([]Suspension, error) {
				return fr.SuspensionsBetween(ctx, a, b)
			}),
		listFact(func(f *accountFacts) *[]Signature { return &f.Signatures },
			func(x Signature) int64 { return x.AccountID }, Reader.Signatures,
			func(ctx context.Context, r Reader, _ FactsReader, a, b int64) ([]Signature, error) {
				return r.SignaturesBetween(ctx, a, b)
			}),
		// approvals of personal devices and exceptions
		listFact(func(f *accountFacts) *[]Approval { return &f.Approvals },
			func(x Approval) int64 { return x.AccountID }, Reader.Approvals,
			func(ctx context.Context, _ Reader, fr FactsReader, a, b int64) ([]Approval, error) {
				return fr.ApprovalsBetween(ctx, a, b)
			}),
		listFact(func(f *accountFacts) *[]Consent { return &f.Consents },
			func(x Consent) int64 { return x.AccountID }, Reader.Consents,
			func(ctx context.Context, _ Reader, fr FactsReader, a, b int64) ([]Consent, error) {
				return fr.ConsentsBetween(ctx, a, b)
			}),
	}
}

// listFact is the loader of a fact that is a list of T read whole: field
// is where accountFacts keeps it, owner the account a T belongs to, one the
// read of one account's and between the read of a range of accounts'.
func listFact[T any](field func(*accountFacts) *[]T, owner func(T) int64,
	one func(Reader, context.Context, int64) ([]T, error),
	between func(ctx context.Context, r Reader, fr FactsReader, afterID, lastID int64) ([]T, error)) factLoader {
	return factLoader{
		one: func(ctx context.Context, r Reader, f *accountFacts) (err error) {
			*field(f), err = one(r, ctx, f.Account.ID)
			return err
		},
		page: func(ctx context.Context, r Reader, fr FactsReader, a, b int64, byID map[int64]*accountFacts) error {
			xs, err := between(ctx, r, fr, a, b)
			for _, x := range xs {
				if f := byID[owner(x)]; f != nil {
					l := field(f)
					*l = append(*l, x)
				}
			}
			return err
		},
	}
}

// viewGroup is a group and its members' usernames, sorted.
type viewGroup struct {
	Group   Group
	Members []string
}

// View is the in-memory read side of the hot paths: a Store whose reads of
// accounts, their password and Wi-Fi credentials, suspensions, AUP
// signatures and consents, groups and memberships, the AUP documents and
// the NAS clients are answered from memory, loaded at start (Run) and kept
// current by the store's change feed (Watcher). Every other read, and every
// write, goes to the store.
//
// It fails closed. It forgets, on each change the feed tells, what that
// change's audit targets name (account:NAME the account, group:NAME the
// group, aup:… the documents, nas:… the NAS clients, keyring and AllTargets
// everything): what it has forgotten is read from the store until it has
// read it again. And it answers from memory only while the feed is known
// to be caught up within ViewFreshFor (CaughtUpper); past that, every read
// goes to the store. It relies on no in-process hook, so a change made by
// another process or node reaches it as it reaches this process's own.
type View struct {
	Store
	fr  FactsReader
	cu  CaughtUpper
	log *slog.Logger
	// wall is the clock of freshness; a test may hold it back.
	wall func() time.Time

	kick chan struct{}

	// behind counts the reads sent to the store because the view was not
	// caught up (or not loaded): a view that falls behind under load shows
	// here.
	behind atomic.Int64

	mu       sync.RWMutex
	loaded   bool
	allGen   uint64 // bumped when everything must be read again
	allDirty bool
	mark     uint64 // numbers each forgetting
	acc      *accountSlab
	dirty    map[string]uint64 // usernames forgotten and not read again
	groups   map[int64]*viewGroup
	// groupName and groupGID find a group by name and gidNumber.
	groupName map[string]*viewGroup
	groupGID  map[int64]*viewGroup
	// pending are the groups of usernames the view does not hold (yet),
	// as read with the groups: taken into the account's slot when it is
	// read.
	pending   map[string][]int64
	dirtyGrp  map[string]uint64
	docs      []AUPDocument
	docsDirty uint64
	nas       []NASClient
	nasDirty  uint64
}

// NewView puts a view in front of s. It answers nothing from memory until
// Run has loaded it, and never when s cannot tell of changes or how far it
// has told (a FactsReader, Watcher and CaughtUpper are needed).
func NewView(s Store, log *slog.Logger) *View {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &View{Store: s, log: log, wall: time.Now, kick: make(chan struct{}, 1),
		acc: newAccountSlab(0), dirty: map[string]uint64{}, dirtyGrp: map[string]uint64{}, pending: map[string][]int64{}}
	v.fr, _ = s.(FactsReader)
	v.cu, _ = s.(CaughtUpper)
	return v
}

// SetWall sets the clock by which the view judges how far behind the
// change feed is (tests hold it ahead to age the view at once).
func (v *View) SetWall(wall func() time.Time) {
	v.mu.Lock()
	v.wall = wall
	v.mu.Unlock()
}

// Run loads the view and keeps it current until ctx ends.
func (v *View) Run(ctx context.Context) error {
	w, ok := v.Store.(Watcher)
	if !ok || v.fr == nil || v.cu == nil {
		v.log.Warn("the store cannot feed an in-memory view; every read goes to the store")
		<-ctx.Done()
		return nil
	}
	// A store that cannot be watched yet (the database away at start) is
	// tried again; reads go to the store meanwhile, and the server serves.
	for {
		err := w.Watch(ctx, v.told)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		v.log.Warn("view: cannot watch the store for changes yet; every read goes to the store meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	start := time.Now()
	for ctx.Err() == nil {
		err := v.loadAll(ctx)
		if err == nil {
			v.mu.RLock()
			n := v.acc.n
			v.mu.RUnlock()
			v.log.Info("in-memory view loaded", "accounts", n, "took", time.Since(start).Round(time.Millisecond))
			break
		}
		v.log.Warn("view: loading; every read goes to the store meanwhile", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-v.kick:
		case <-tick.C:
		}
		if err := v.catchUp(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("view: reading changes; what changed is read from the store meanwhile", "err", err)
		}
	}
}

// told forgets what the targets of a committed change name. It runs on the
// feed's goroutine, before the feed counts the change as told, so a read
// after it never answers from what the change made stale.
func (v *View) told(targets []string) {
	v.mu.Lock()
	for _, t := range targets {
		v.mark++
		if name, ok := audit.TargetName(t, audit.KindAccount); ok {
			v.dirty[name] = v.mark
			continue
		}
		if name, ok := audit.TargetName(t, audit.KindGroup); ok {
			v.dirtyGrp[name] = v.mark
			continue
		}
		switch {
		case strings.HasPrefix(t, audit.KindAUP+":"):
			v.docsDirty = v.mark
		case strings.HasPrefix(t, audit.KindNAS+":"):
			v.nasDirty = v.mark
		case t == AllTargets || t == "keyring":
			v.allGen++
			v.allDirty = true
		}
	}
	v.mu.Unlock()
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// usable says whether the view may answer from memory. v.mu is held.
func (v *View) usable() bool {
	if !v.loaded || v.allDirty || v.cu == nil {
		return false
	}
	c := v.cu.CaughtUp()
	return !c.IsZero() && v.wall().Sub(c) < ViewFreshFor
}

// Fresh says whether the view answers from memory now.
func (v *View) Fresh() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.usable()
}

// loadAll reads everything the view holds from the store.
func (v *View) loadAll(ctx context.Context) error {
	v.mu.Lock()
	gen := v.allGen
	v.mu.Unlock()
	acc := newAccountSlab(viewPage)
	var w factsWriter
	loaders := accountFactSet()
	var members []Membership
	var after int64
	for {
		as, err := v.Store.ListAccounts(ctx, AccountQuery{AfterID: after, Limit: viewPage})
		if err != nil {
			return err
		}
		if len(as) == 0 {
			break
		}
		last := as[len(as)-1].ID
		fs := make([]accountFacts, len(as))
		byID := make(map[int64]*accountFacts, len(as))
		for i, a := range as {
			fs[i].Account = a
			byID[a.ID] = &fs[i]
		}
		for _, l := range loaders {
			if err := l.page(ctx, v.Store, v.fr, after, last, byID); err != nil {
				return err
			}
		}
		for i := range fs {
			if _, err := acc.put(fs[i].Account.Username, w.encode(&fs[i]), fs[i].Account.AlsoSchools); err != nil {
				return err
			}
		}
		ms, err := v.fr.MembershipsBetween(ctx, after, last)
		if err != nil {
			return err
		}
		members = append(members, ms...)
		after = last
	}
	groups, groupName, groupGID := map[int64]*viewGroup{}, map[string]*viewGroup{}, map[int64]*viewGroup{}
	var gafter int64
	for {
		gs, err := v.Store.ListGroups(ctx, GroupQuery{AfterID: gafter, Limit: viewPage})
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			break
		}
		for _, g := range gs {
			vg := &viewGroup{Group: g}
			groups[g.ID], groupName[g.Name], groupGID[g.GIDNumber] = vg, vg, vg
		}
		gafter = gs[len(gs)-1].ID
	}
	byAccount := func(a, b Membership) int {
		if c := cmp.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		return cmp.Compare(a.GroupID, b.GroupID)
	}
	if !slices.IsSortedFunc(members, byAccount) {
		slices.SortFunc(members, byAccount)
	}
	// Each member list is made at its size: the lists hold a string
	// header for every membership, the view's largest part after the
	// facts.
	size := map[int64]int{}
	for _, m := range members {
		size[m.GroupID]++
	}
	for id, n := range size {
		if g := groups[id]; g != nil {
			g.Members = make([]string, 0, n)
		}
	}
	var ids []int64
	for i := 0; i < len(members); {
		j, a := i, members[i].AccountID
		ids = ids[:0]
		for ; j < len(members) && members[j].AccountID == a; j++ {
			if g := groups[members[j].GroupID]; g != nil && (len(ids) == 0 || ids[len(ids)-1] != g.Group.ID) {
				ids = append(ids, g.Group.ID)
			}
		}
		slot, ok := acc.byID(a)
		i = j
		if !ok || len(ids) == 0 {
			continue
		}
		acc.slots[slot].groups = packGroups(ids)
		for _, id := range ids {
			groups[id].Members = append(groups[id].Members, acc.slots[slot].name)
		}
	}
	for _, g := range groups {
		slices.Sort(g.Members)
	}
	acc.slots = slices.Clip(acc.slots)
	if cap(acc.slots) > len(acc.slots)+len(acc.slots)/16 {
		acc.slots = slices.Clone(acc.slots)
	}
	docs, err := v.Store.AUPDocuments(ctx)
	if err != nil {
		return err
	}
	nas, err := v.Store.NASClients(ctx)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.allGen != gen {
		return errors.New("view: everything changed while loading")
	}
	v.acc, v.groups, v.groupName, v.groupGID, v.pending = acc, groups, groupName, groupGID, map[string][]int64{}
	v.docs, v.nas = docs, nas
	v.loaded, v.allDirty = true, false
	// What was forgotten while loading stays forgotten until read again:
	// the load may have read it before the change.
	return nil
}

// catchUp reads again what the feed made the view forget.
func (v *View) catchUp(ctx context.Context) error {
	v.mu.RLock()
	all := v.allDirty || !v.loaded
	accounts := make(map[string]uint64, len(v.dirty))
	for k, m := range v.dirty {
		accounts[k] = m
	}
	groups := make(map[string]uint64, len(v.dirtyGrp))
	for k, m := range v.dirtyGrp {
		groups[k] = m
	}
	docs, nas := v.docsDirty, v.nasDirty
	v.mu.RUnlock()
	if all {
		return v.loadAll(ctx)
	}
	var errs []error
	for name, m := range accounts {
		errs = append(errs, v.reloadAccount(ctx, name, m))
	}
	for name, m := range groups {
		errs = append(errs, v.reloadGroup(ctx, name, m))
	}
	if docs != 0 {
		d, err := v.Store.AUPDocuments(ctx)
		if err == nil {
			v.mu.Lock()
			v.docs = d
			if v.docsDirty == docs {
				v.docsDirty = 0
			}
			v.mu.Unlock()
		}
		errs = append(errs, err)
	}
	if nas != 0 {
		n, err := v.Store.NASClients(ctx)
		if err == nil {
			v.mu.Lock()
			v.nas = n
			if v.nasDirty == nas {
				v.nasDirty = 0
			}
			v.mu.Unlock()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// reloadAccount reads one account's facts again; mark is the forgetting
// it answers, cleared only if no later one came meanwhile.
func (v *View) reloadAccount(ctx context.Context, name string, mark uint64) error {
	a, err := v.Store.AccountByUsername(ctx, name)
	if errors.Is(err, ErrNotFound) {
		// The account held under name may have been renamed: then it is
		// read under its new name now, so that its slot, and its groups,
		// go with it (the rename is not told under the groups' targets).
		v.mu.RLock()
		id := int64(0)
		if slot, ok := v.acc.byName(name); ok {
			id, _ = factsAccountIDs(v.acc.slots[slot].facts)
		}
		v.mu.RUnlock()
		if id != 0 {
			if b, err2 := v.Store.Account(ctx, id); err2 == nil {
				a, err = b, nil
			} else if !errors.Is(err2, ErrNotFound) {
				return err2
			}
		}
	}
	var f *accountFacts
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		f = &accountFacts{Account: a}
		for _, l := range accountFactSet() {
			if err := l.one(ctx, v.Store, f); err != nil {
				return err
			}
		}
	}
	var facts string
	if f != nil {
		var w factsWriter
		facts = w.encode(f)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	acc := v.acc
	names := []string{name}
	if f != nil && f.Account.Username != name {
		names = append(names, f.Account.Username)
	}
	for _, n := range names {
		if old, ok := acc.byName(n); ok {
			if id, _ := factsAccountIDs(acc.slots[old].facts); f == nil || f.Account.ID != id {
				v.renameMember(old, "") // gone: its memberships went with it
				acc.drop(old)
			}
		}
	}
	if f != nil {
		name := f.Account.Username // another than the one told, when renamed
		slot, ok := acc.byID(f.Account.ID)
		if ok {
			if from := acc.slots[slot].name; from != name { // renamed
				acc.replace(slot, f.Account.Username, facts, f.Account.AlsoSchools)
				v.renameMember(slot, from)
			} else {
				acc.replace(slot, from, facts, f.Account.AlsoSchools)
			}
		} else if slot, err = acc.put(f.Account.Username, facts, f.Account.AlsoSchools); err != nil {
			return err // stays forgotten: read from the store
		}
		// Groups read while the account was not held under this name.
		if ids, ok := v.pending[name]; ok {
			delete(v.pending, name)
			for _, id := range ids {
				acc.slots[slot].groups = withGroup(acc.slots[slot].groups, id)
			}
		}
	}
	if v.dirty[name] == mark {
		delete(v.dirty, name)
	}
	return nil
}

// renameMember follows a rename of the account in slot into the member
// lists of its groups, since neither is told under the groups' targets:
// from is the name they hold, the slot's the one they are to hold. An
// empty from is the account's purge: its name leaves them, and the slot
// keeps no groups. v.mu is held.
func (v *View) renameMember(slot int32, from string) {
	sl := &v.acc.slots[slot]
	gone := from == ""
	if gone {
		from = sl.name
	}
	for r := (factsReader{s: sl.groups}); r.i < len(sl.groups); {
		g := v.groups[r.int()]
		if g == nil {
			continue
		}
		// The list is replaced, never changed: SharedMembers handed it out.
		ms := slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == from })
		if !gone {
			ms = append(ms, sl.name)
			slices.Sort(ms)
		}
		g.Members = ms
	}
	if gone {
		sl.groups = ""
	}
}

// reloadGroup reads one group and its members again.
func (v *View) reloadGroup(ctx context.Context, name string, mark uint64) error {
	g, err := v.Store.GroupByName(ctx, name)
	var vg *viewGroup
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		ms, err := v.Store.Members(ctx, g.ID)
		if err != nil {
			return err
		}
		vg = &viewGroup{Group: g, Members: ms}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	acc := v.acc
	drop := func(old *viewGroup) {
		delete(v.groupName, old.Group.Name)
		delete(v.groups, old.Group.ID)
		delete(v.groupGID, old.Group.GIDNumber)
		for _, u := range old.Members {
			if slot, ok := acc.byName(u); ok {
				acc.slots[slot].groups = withoutGroup(acc.slots[slot].groups, old.Group.ID)
				continue
			}
			ids := slices.DeleteFunc(v.pending[u], func(id int64) bool { return id == old.Group.ID })
			if len(ids) == 0 {
				delete(v.pending, u)
			} else {
				v.pending[u] = ids
			}
		}
	}
	if old := v.groupName[name]; old != nil {
		drop(old)
	}
	if vg != nil {
		if old := v.groups[vg.Group.ID]; old != nil {
			drop(old)
		}
		v.groups[vg.Group.ID], v.groupName[name], v.groupGID[vg.Group.GIDNumber] = vg, vg, vg
		for i, u := range vg.Members {
			if slot, ok := acc.byName(u); ok {
				vg.Members[i] = acc.slots[slot].name
				acc.slots[slot].groups = withGroup(acc.slots[slot].groups, vg.Group.ID)
				continue
			}
			v.pending[u] = append(v.pending[u], vg.Group.ID)
		}
	}
	if v.dirtyGrp[name] == mark {
		delete(v.dirtyGrp, name)
	}
	return nil
}

// byUsername is the slot of the account when the view may answer for it:
// held is false when the store must be asked. slot is -1 (with held) when
// there is no such account.
func (v *View) byUsername(name string) (slot int32, held bool) {
	if !v.usable() {
		v.behind.Add(1)
		return -1, false
	}
	if _, d := v.dirty[name]; d {
		return -1, false
	}
	slot, _ = v.acc.byName(name)
	return slot, true
}

// byAccountID is the slot of the account when the view may answer for it,
// else -1; an id it does not hold is asked of the store (it may be an
// account made since, under a name not yet read).
func (v *View) byAccountID(id int64) int32 {
	if !v.usable() {
		v.behind.Add(1)
		return -1
	}
	slot, ok := v.acc.byID(id)
	if !ok {
		return -1
	}
	return v.heldSlot(slot)
}

// heldSlot is slot, found by the account's id or uidNumber while the view
// is usable (the caller has asked), unless the account is forgotten (-1).
func (v *View) heldSlot(slot int32) int32 {
	if _, d := v.dirty[v.acc.slots[slot].name]; d {
		return -1
	}
	return slot
}

// facts is the encoded facts of the account when the view may answer for
// it (see byAccountID).
func (v *View) facts(id int64) (string, bool) {
	slot := v.byAccountID(id)
	if slot < 0 {
		return "", false
	}
	return v.acc.slots[slot].facts, true
}

// AccountByUsername answers from memory when it may.
func (v *View) AccountByUsername(ctx context.Context, username string) (Account, error) {
	v.mu.RLock()
	slot, held := v.byUsername(username)
	var a Account
	if slot >= 0 {
		a = v.acc.account(slot)
	}
	v.mu.RUnlock()
	if !held {
		return v.Store.AccountByUsername(ctx, username)
	}
	if slot < 0 {
		return Account{}, fmt.Errorf("account %s: %w", username, ErrNotFound)
	}
	return a, nil
}

// Account answers from memory when it may.
func (v *View) Account(ctx context.Context, id int64) (Account, error) {
	v.mu.RLock()
	slot := v.byAccountID(id)
	var a Account
	if slot >= 0 {
		a = v.acc.account(slot)
	}
	v.mu.RUnlock()
	if slot < 0 {
		return v.Store.Account(ctx, id)
	}
	return a, nil
}

// Credentials answers passwords and Wi-Fi credentials from memory when it
// may.
func (v *View) Credentials(ctx context.Context, accountID int64, kind CredentialKind) ([]Credential, error) {
	if !viewHolds(kind) {
		return v.Store.Credentials(ctx, accountID, kind)
	}
	v.mu.RLock()
	facts, ok := v.facts(accountID)
	v.mu.RUnlock()
	if !ok {
		return v.Store.Credentials(ctx, accountID, kind)
	}
	return factsCredentials(facts, kind), nil
}

// Suspensions answers from memory when it may.
func (v *View) Suspensions(ctx context.Context, accountID int64) ([]Suspension, error) {
	v.mu.RLock()
	facts, ok := v.facts(accountID)
	v.mu.RUnlock()
	if !ok {
		return v.Store.Suspensions(ctx, accountID)
	}
	return factsSuspensions(facts), nil
}

// Signatures answers from memory when it may.
func (v *View) Signatures(ctx context.Context, accountID int64) ([]Signature, error) {
	v.mu.RLock()
	facts, ok := v.facts(accountID)
	v.mu.RUnlock()
	if !ok {
		return v.Store.Signatures(ctx, accountID)
	}
	return factsSignatures(facts), nil
}

// Consents answers from memory when it may.
func (v *View) Consents(ctx context.Context, accountID int64) ([]Consent, error) {
	v.mu.RLock()
	facts, ok := v.facts(accountID)
	v.mu.RUnlock()
	if !ok {
		return v.Store.Consents(ctx, accountID)
	}
	return factsConsents(facts), nil
}

// Approvals answers from memory when it may; 0 (every account's) is read
// from the store.
func (v *View) Approvals(ctx context.Context, accountID int64) ([]Approval, error) {
	var facts string
	ok := false
	if accountID != 0 {
		v.mu.RLock()
		facts, ok = v.facts(accountID)
		v.mu.RUnlock()
	}
	if !ok {
		return v.Store.Approvals(ctx, accountID)
	}
	return factsApprovals(facts), nil
}

// AUPDocuments answers from memory when it may.
func (v *View) AUPDocuments(ctx context.Context) ([]AUPDocument, error) {
	v.mu.RLock()
	ok := v.usable() && v.docsDirty == 0
	var out []AUPDocument
	if ok {
		out = slices.Clone(v.docs)
	}
	v.mu.RUnlock()
	if !ok {
		return v.Store.AUPDocuments(ctx)
	}
	return out, nil
}

// NASClients answers from memory when it may.
func (v *View) NASClients(ctx context.Context) ([]NASClient, error) {
	v.mu.RLock()
	ok := v.usable() && v.nasDirty == 0
	var out []NASClient
	if ok {
		out = slices.Clone(v.nas)
	}
	v.mu.RUnlock()
	if !ok {
		return v.Store.NASClients(ctx)
	}
	return out, nil
}

// GroupsOf answers from memory when it may: not while any group is
// forgotten, since a membership is told under the group's target.
func (v *View) GroupsOf(ctx context.Context, accountID int64) ([]Group, error) {
	v.mu.RLock()
	slot := v.byAccountID(accountID)
	ok := slot >= 0 && len(v.dirtyGrp) == 0
	var out []Group
	if ok {
		gs := v.acc.slots[slot].groups
		for r := (factsReader{s: gs}); r.i < len(gs); {
			if g := v.groups[r.int()]; g != nil {
				out = append(out, g.Group)
			}
		}
	}
	v.mu.RUnlock()
	if !ok {
		return v.Store.GroupsOf(ctx, accountID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Update runs fn in one transaction of the store and, once it has
// committed, forgets what it changed at once (the feed tells it too, later
// on PostgreSQL), so that this process reads its own changes.
func (v *View) Update(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error {
	var targets []string
	err := v.Store.Update(ctx, func(ctx context.Context, tx Tx) error {
		targets = targets[:0]
		return fn(ctx, &targetTx{Tx: tx, targets: &targets})
	})
	if err == nil {
		v.told(targets)
	}
	return err
}

// targetTx notes the audit targets a transaction records.
type targetTx struct {
	Tx
	targets *[]string
}

func (t *targetTx) Record(ctx context.Context, e *audit.Event) error {
	*t.targets = append(*t.targets, e.Target)
	return t.Tx.Record(ctx, e)
}

// Watch is the store's (see Watcher): the frontends watch through the view
// as they would the store.
func (v *View) Watch(ctx context.Context, fn func(targets []string)) error {
	w, ok := v.Store.(Watcher)
	if !ok {
		return errors.New("view: the store cannot tell of changes")
	}
	// The view forgets first, so that what a watcher reads on hearing of a
	// change is never what the change made stale.
	return w.Watch(ctx, func(targets []string) {
		v.told(targets)
		fn(targets)
	})
}

// TryJobLock is the store's (see JobLocker).
func (v *View) TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	j, found := v.Store.(JobLocker)
	if !found {
		return nil, false, errors.New("view: the store has no job locks")
	}
	return j.TryJobLock(ctx, name)
}

// Accounts is how many accounts the view holds.
func (v *View) Accounts() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.acc.n
}

// AccountByUID answers from memory when it may; a uidNumber it does not
// hold is asked of the store.
func (v *View) AccountByUID(ctx context.Context, uid int64) (Account, error) {
	v.mu.RLock()
	slot := int32(-1)
	if s, ok := v.acc.byUID(uid); ok {
		if v.usable() {
			slot = v.heldSlot(s)
		} else {
			v.behind.Add(1)
		}
	}
	var a Account
	if slot >= 0 {
		a = v.acc.account(slot)
	}
	v.mu.RUnlock()
	if slot < 0 {
		return v.Store.AccountByUID(ctx, uid)
	}
	return a, nil
}

// group is a group when the view may answer for it: held is false when
// the store must be asked; g is nil (with held) when there is none.
func (v *View) group(name string) (g *viewGroup, held bool) {
	if !v.usable() {
		return nil, false
	}
	if _, d := v.dirtyGrp[name]; d {
		return nil, false
	}
	return v.groupName[name], true
}

// GroupByName answers from memory when it may.
func (v *View) GroupByName(ctx context.Context, name string) (Group, error) {
	v.mu.RLock()
	g, held := v.group(name)
	v.mu.RUnlock()
	if !held {
		return v.Store.GroupByName(ctx, name)
	}
	if g == nil {
		return Group{}, fmt.Errorf("group %s: %w", name, ErrNotFound)
	}
	return g.Group, nil
}

// GroupByGID answers from memory when it may.
func (v *View) GroupByGID(ctx context.Context, gid int64) (Group, error) {
	v.mu.RLock()
	var g *viewGroup
	held := false
	if x := v.groupGID[gid]; x != nil {
		g, held = v.group(x.Group.Name)
	}
	v.mu.RUnlock()
	if !held || g == nil {
		return v.Store.GroupByGID(ctx, gid)
	}
	return g.Group, nil
}

// Members answers from memory when it may, or from the store when one of
// the members is forgotten (a purge or a rename not yet read again).
func (v *View) Members(ctx context.Context, groupID int64) ([]string, error) {
	v.mu.RLock()
	var out []string
	held := false
	if x := v.groups[groupID]; x != nil {
		var g *viewGroup
		g, held = v.group(x.Group.Name)
		switch {
		case held && g != nil && len(v.dirty) == 0:
			out = slices.Clone(g.Members)
		case held && g != nil:
			out = make([]string, 0, len(g.Members))
			for _, m := range g.Members {
				if _, d := v.dirty[m]; d {
					held = false
					break
				}
				out = append(out, m)
			}
		}
		held = held && g != nil
	}
	v.mu.RUnlock()
	if !held {
		return v.Store.Members(ctx, groupID)
	}
	return out, nil
}

// SharedMembers is Members without the copy: the slice returned is shared
// and must not be changed (the view never changes a list it has handed
// out; it replaces it). LDAP's group searches read a large group's members
// so on every request.
func (v *View) SharedMembers(ctx context.Context, groupID int64) ([]string, error) {
	v.mu.RLock()
	var out []string
	if x := v.groups[groupID]; x != nil && len(v.dirty) == 0 {
		if g, held := v.group(x.Group.Name); held && g != nil {
			out = g.Members
			if out == nil {
				out = []string{}
			}
		}
	}
	v.mu.RUnlock()
	if out == nil {
		return v.Members(ctx, groupID)
	}
	return out, nil
}

// ReadsBehind is how many account reads went to the store because the view
// was not loaded or not caught up.
func (v *View) ReadsBehind() int64 { return v.behind.Load() }
