package ldapserver

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

// The sources a search walks, in this order; a paging cookie says which
// one it reached and the last id sent from it.
const (
	srcFixed = iota
	srcPeople
	srcGroups
	srcServices
	srcOwnGroups // people's own groups, published from their accounts
	srcEnd
)

// scanBatch is how many rows one store call returns while paging through
// a subtree.
const scanBatch = 500

type cursor struct {
	src   int
	after int64
}

func (cu cursor) cookie() []byte {
	b := make([]byte, 0, 10)
	b = append(b, 'k', byte(cu.src))
	return binary.BigEndian.AppendUint64(b, uint64(cu.after))
}

func parseCookie(b []byte) (cursor, bool) {
	if len(b) != 10 || b[0] != 'k' || int(b[1]) >= srcEnd {
		return cursor{}, false
	}
	return cursor{src: int(b[1]), after: int64(binary.BigEndian.Uint64(b[2:]))}, true
}

// search is one SearchRequest being answered.
type search struct {
	c       *conn
	m       *message
	req     searchRequest
	filter  *filter // req.filter compiled
	who     identity
	sel     selection
	base    []string // normalised RDNs of the base
	sent    int64
	limit   int64 // 0: none
	page    int64 // 0: not paged
	stopped bool  // page or size limit reached
	next    cursor
	out     *batch // the responses not yet written
	need    *need  // the attributes entries are built with
	// needMemberOf and needMembers say whether the filter or the
	// selection uses the attributes that cost a query per entry.
	needMemberOf, needMembers bool
	// needMemberDNs says whether groups' member DNs are asked for or
	// filtered on (memberUid alone needs only the usernames).
	needMemberDNs bool
}

func (c *conn) search(ctx context.Context, m *message) {
	began := time.Now()
	answered := false
	defer func() {
		if !answered { // abandoned, or the server is stopping: no response is due
			c.s.dir.ObserveSince(began, directory.ServiceLDAP, "search", "abandoned", directory.ReasonNone)
		}
	}()
	// The entries found and the SearchResultDone are written together.
	out := &batch{write: c.replyBytes}
	done := func(code int, diag string, controls ...*ber.Packet) {
		answered = true
		c.s.dir.ObserveSince(began, directory.ServiceLDAP, "search", resultName(code), directory.ReasonNone)
		if len(controls) > 0 {
			out.b = append(out.b, envelope(m.id, result(appSearchDone, code, "", diag), controls...)...)
		} else {
			out.b = appendResultMessage(out.b, m.id, appSearchDone, code, "", diag)
		}
		out.flush()
	}
	req, err := m.searchRequest()
	if err != nil {
		done(resultProtocolError, err.Error())
		return
	}
	if req.timeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.timeLimit)*time.Second)
		defer cancel()
	}
	f, err := compileFilter(req.filter, c.s.cfg.MaxFilterTerms)
	if err != nil {
		done(resultAdminLimitExceeded, c.s.filterTooComplex())
		return
	}
	s := &search{c: c, m: m, req: req, filter: f, who: c.identity(), sel: newSelection(req.attributes), limit: req.sizeLimit, out: out}
	var paging *pagingControl
	for _, ctl := range m.controls {
		switch ctl.oid {
		case oidPagedResults:
			p, err := decodePaging(ctl.value)
			if err != nil {
				done(resultProtocolError, err.Error())
				return
			}
			paging = &p
		default:
			if ctl.critical {
				done(resultUnavailableCritical, "control "+ctl.oid+" is not supported")
				return
			}
		}
	}
	start := cursor{}
	if paging != nil {
		if len(paging.cookie) > 0 {
			cu, ok := parseCookie(paging.cookie)
			if !ok {
				done(resultUnwillingToPerform, "paged results cookie not recognised: start the search again")
				return
			}
			start = cu
		}
		if paging.size == 0 {
			// A size of zero abandons the paged search (RFC 2696).
			done(resultSuccess, "", encodePaging(nil))
			return
		}
		s.page = paging.size
	}

	s.base, err = parseDN(req.base)
	if err != nil {
		done(resultInvalidDNSyntax, "invalid base DN")
		return
	}
	baseNorm := strings.Join(s.base, ",")
	switch {
	case baseNorm == "" && req.scope == scopeBase:
		s.sendIf(ctx, c.s.dse)
		done(resultSuccess, "")
		return
	case baseNorm == "":
		done(resultSuccess, "")
		return
	case baseNorm == "cn=subschema": // readable before binding: see subschemaEntry
		if req.scope == scopeBase {
			s.sendIf(ctx, c.s.sub)
		}
		done(resultSuccess, "")
		return
	case s.who.anonymous():
		done(resultInsufficientAccess, "anonymous may read the root DSE and cn=Subschema only: bind first")
		return
	case !s.under(c.s.tree.baseRDNs):
		done(resultNoSuchObject, "no such object: the directory holds "+c.s.tree.base)
		return
	}
	if ok, err := s.baseExists(ctx); err != nil {
		c.s.log.Error("ldap search", "base", req.base, "err", err)
		done(resultUnavailable, "the directory is unavailable; try again")
		return
	} else if !ok {
		done(resultNoSuchObject, "no such object: "+req.base)
		return
	}
	s.needMemberOf = s.sel.wantsName("memberof", false) || filterUses(req.filter, "memberof")
	s.needMembers = s.sel.wantsName("memberuid", false) || s.sel.wantsName("member", false) ||
		filterUses(req.filter, "memberuid") || filterUses(req.filter, "member")
	s.needMemberDNs = s.sel.wantsName("member", false) || filterUses(req.filter, "member")
	s.need = newNeed(s.sel, req.filter)

	err = s.run(ctx, start)
	var ctl []*ber.Packet
	if paging != nil {
		var cookie []byte
		if s.stopped && s.page > 0 && s.sent == s.page {
			cookie = s.next.cookie()
		}
		ctl = append(ctl, encodePaging(cookie))
	}
	switch {
	case errors.Is(err, errSizeLimit):
		done(resultSizeLimitExceeded, "", ctl...)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		done(resultTimeLimitExceeded, "time limit exceeded", ctl...)
	case ctx.Err() != nil:
		return // abandoned or shutting down: no response is due
	case err != nil:
		c.s.log.Error("ldap search", "base", req.base, "who", s.who.String(), "err", err)
		done(resultOperationsError, "the directory is unavailable; try again", ctl...)
	default:
		done(resultSuccess, "", ctl...)
	}
}

var (
	errSizeLimit = errors.New("size limit")
	errPageFull  = errors.New("page full")
)

// baseExists reports whether the search base names an entry the searcher
// may read: the suffix, one of its three containers, or an account or group
// in them. An entry the searcher may not read does not exist for them.
func (s *search) baseExists(ctx context.Context) (bool, error) {
	t := &s.c.s.tree
	rel := s.base[:len(s.base)-len(t.baseRDNs)]
	switch len(rel) {
	case 0:
		return true, nil
	case 1:
		return rel[0] == "ou=people" || rel[0] == "ou=groups" || rel[0] == "ou=services", nil
	case 2:
	default:
		return false, nil
	}
	st := s.c.s.store
	attr, v, _ := strings.Cut(rel[0], "=")
	if ok, err := s.mayRead(ctx, rel[1], v); !ok || err != nil {
		return false, err
	}
	var err error
	switch {
	case rel[1] == "ou=groups" && attr == "cn":
		if _, err = st.GroupByName(ctx, v); errors.Is(err, directory.ErrNotFound) {
			var a directory.Account
			if a, err = st.AccountByUsername(ctx, v); err == nil && !hasOwnGroup(a) {
				return false, nil
			}
		}
	case (rel[1] == "ou=people" || rel[1] == "ou=services") && attr == "uid":
		var a directory.Account
		a, err = st.AccountByUsername(ctx, v)
		if err == nil && (a.Role == directory.RoleService) != (rel[1] == "ou=services") {
			return false, nil
		}
	default:
		return false, nil
	}
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// under reports whether the search base is dn or below it.
func (s *search) under(dn []string) bool {
	return len(s.base) >= len(dn) && slices.Equal(s.base[len(s.base)-len(dn):], dn)
}

// inScope reports whether an entry at dn (normalised RDNs) is in the
// search's scope.
func (s *search) inScope(dn []string) bool {
	if len(dn) < len(s.base) || !slices.Equal(dn[len(dn)-len(s.base):], s.base) {
		return false
	}
	switch depth := len(dn) - len(s.base); s.req.scope {
	case scopeBase:
		return depth == 0
	case scopeOne:
		return depth == 1
	}
	return true
}

// containerReachable reports whether entries directly below container
// can be in scope, and if the base names one entry below it, which.
func (s *search) containerReachable(container []string) (reachable bool, only string) {
	if len(s.base) == len(container)+1 && slices.Equal(s.base[1:], container) {
		if s.req.scope == scopeOne {
			return false, ""
		}
		_, v, _ := strings.Cut(s.base[0], "=")
		return true, v
	}
	// An entry directly below container: in scope when container is
	// the base (one level or subtree) or below it (subtree).
	if len(container) < len(s.base) || !slices.Equal(container[len(container)-len(s.base):], s.base) {
		return false, ""
	}
	depth := len(container) + 1 - len(s.base)
	return s.req.scope == scopeSub || s.req.scope == scopeOne && depth == 1, ""
}

// sendIf sends e when the filter matches; it returns errPageFull or
// errSizeLimit when the search must stop, and ctx's error once the search
// is abandoned or out of time, however many entries remain.
func (s *search) sendIf(ctx context.Context, e *entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.filter.matches(e) {
		return nil
	}
	if s.limit > 0 && s.sent >= s.limit {
		return errSizeLimit
	}
	// Room for the SearchResultDone too, which most often follows.
	s.out.grow(entryMessageSize(s.m.id, e, s.sel, s.req.typesOnly) + 16)
	s.out.b = appendEntryMessage(s.out.b, s.m.id, e, s.sel, s.req.typesOnly)
	if !s.out.flushIfFull() {
		return context.Canceled
	}
	s.sent++
	if s.page > 0 && s.sent >= s.page {
		s.stopped = true
		return errPageFull
	}
	return nil
}

func (s *search) run(ctx context.Context, start cursor) error {
	t := &s.c.s.tree
	err := s.walk(ctx, start, t)
	if errors.Is(err, errPageFull) {
		return nil
	}
	return err
}

func (s *search) walk(ctx context.Context, start cursor, t *tree) error {
	for src := start.src; src < srcEnd; src++ {
		after := int64(0)
		if src == start.src {
			after = start.after
		}
		var err error
		switch src {
		case srcFixed:
			for i, f := range t.fixed {
				id := int64(i + 1)
				if id <= after || !s.inScope(f.rdns) {
					continue
				}
				s.next = cursor{srcFixed, id}
				if err = s.sendIf(ctx, f.e); err != nil {
					break
				}
			}
		case srcPeople:
			err = s.accounts(ctx, t.people, false, after)
		case srcGroups:
			err = s.groups(ctx, t.groups, after)
		case srcServices:
			err = s.accounts(ctx, t.service, true, after)
		case srcOwnGroups:
			err = s.ownGroups(ctx, t.groups, after)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// canRead is the access control for accounts: a person reads their own
// entry; a service account its own and what its grant allows.
func (s *search) canReadAccounts(services bool) bool {
	if !s.who.service() {
		return false
	}
	g := s.c.s.cfg.Grants[s.who.account.Username]
	if services {
		return g.Services
	}
	return g.People
}

// accounts sends the matching accounts of one container, ordered by id.
func (s *search) accounts(ctx context.Context, container []string, services bool, after int64) error {
	ok, only := s.containerReachable(container)
	if !ok {
		return nil
	}
	if s.excludesContainer(services) {
		return nil
	}
	st := s.c.s.store
	keep := func(a directory.Account) bool {
		return (a.Role == directory.RoleService) == services && a.ID > after &&
			(only == "" || a.Username == only)
	}
	var planned []directory.Account
	var isPlanned bool
	switch {
	case !s.canReadAccounts(services):
		// Only one's own entry is visible: no need to look further.
		isPlanned = true
		if (s.who.account.Role == directory.RoleService) == services {
			a, err := st.Account(ctx, s.who.account.ID)
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				return err
			}
			if err == nil {
				planned = []directory.Account{a}
			}
		}
	case only != "":
		isPlanned = true
		a, err := st.AccountByUsername(ctx, only)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		if err == nil {
			planned = []directory.Account{a}
		}
	default:
		var err error
		planned, isPlanned, err = s.planAccounts(ctx, s.req.filter)
		if err != nil {
			return err
		}
	}
	if isPlanned {
		slices.SortFunc(planned, func(a, b directory.Account) int { return cmpInt(a.ID, b.ID) })
		planned = slices.CompactFunc(planned, func(a, b directory.Account) bool { return a.ID == b.ID })
		for _, a := range planned {
			if !keep(a) {
				continue
			}
			if err := s.sendAccount(ctx, a, services); err != nil {
				return err
			}
		}
		return nil
	}
	q := directory.AccountQuery{AfterID: after, Limit: scanBatch}
	if services {
		q.Role = directory.RoleService
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := st.ListAccounts(ctx, q)
		if err != nil {
			return err
		}
		for _, a := range batch {
			if !keep(a) {
				continue
			}
			if err := s.sendAccount(ctx, a, services); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
		q.AfterID = batch[len(batch)-1].ID
	}
}

// excludesContainer reports whether the filter rules out every entry of
// the people (or services) container by objectClass alone, so that none of
// it need be read: nslcd's (&(objectClass=posixAccount)(uid=NAME)) from the
// suffix can match no service account, and reading the searcher's own
// service entry for it was a sixth of the cost of the search. The classes
// are those personEntry publishes, which no account's data changes.
func (s *search) excludesContainer(services bool) bool {
	if services {
		return excludedByClass(s.req.filter, serviceObjectClassesFolded)
	}
	return excludedByClass(s.req.filter, personObjectClassesFolded)
}

// excludedByClass reports whether filter f is certainly false for every
// entry whose objectClass values are classes (folded, as foldValue does):
// f is, or requires through AND, or has in every branch of an OR, an
// objectClass equality that no value in classes meets. What it cannot be
// sure of is false.
func excludedByClass(f *ber.Packet, classes []string) bool {
	switch f.Tag {
	case filterAnd:
		for _, c := range f.Children {
			if excludedByClass(c, classes) {
				return true
			}
		}
	case filterOr:
		for _, c := range f.Children {
			if !excludedByClass(c, classes) {
				return false
			}
		}
		return len(f.Children) > 0
	case filterEquality:
		if attrName(f.Children[0]) != "objectclass" {
			return false
		}
		return !slices.ContainsFunc(classes, func(c string) bool { return foldedEqual(f.Children[1].Data.Bytes(), c) })
	}
	return false
}

func (s *search) sendAccount(ctx context.Context, a directory.Account, services bool) error {
	var groups []directory.Group
	if s.needMemberOf && !services {
		var err error
		if groups, err = s.c.s.store.GroupsOf(ctx, a.ID); err != nil {
			return err
		}
	}
	src := srcPeople
	if services {
		src = srcServices
	}
	s.next = cursor{src, a.ID}
	return s.sendIf(ctx, s.c.s.tree.personEntryFor(a, groups, s.need))
}

// groups sends the matching groups, ordered by id.
func (s *search) groups(ctx context.Context, container []string, after int64) error {
	ok, only := s.containerReachable(container)
	vis := s.groupVisibility()
	if !ok || vis == seeNoGroups {
		return nil
	}
	st := s.c.s.store
	var planned []directory.Group
	var isPlanned bool
	if vis == seeOwnGroups {
		// A person sees the groups they are in, not who holds the others.
		isPlanned = true
		gs, err := st.GroupsOf(ctx, s.who.account.ID)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if only == "" || g.Name == only {
				planned = append(planned, g)
			}
		}
	} else if only != "" {
		isPlanned = true
		g, err := st.GroupByName(ctx, only)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		if err == nil {
			planned = []directory.Group{g}
		}
	} else {
		var err error
		if planned, isPlanned, err = s.planGroups(ctx, s.req.filter); err != nil {
			return err
		}
	}
	if isPlanned {
		slices.SortFunc(planned, func(a, b directory.Group) int { return cmpInt(a.ID, b.ID) })
		planned = slices.CompactFunc(planned, func(a, b directory.Group) bool { return a.ID == b.ID })
		for _, g := range planned {
			if g.ID <= after {
				continue
			}
			if err := s.sendGroup(ctx, g); err != nil {
				return err
			}
		}
		return nil
	}
	q := directory.GroupQuery{AfterID: after, Limit: scanBatch}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := st.ListGroups(ctx, q)
		if err != nil {
			return err
		}
		for _, g := range batch {
			if err := s.sendGroup(ctx, g); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
		q.AfterID = batch[len(batch)-1].ID
	}
}

func (s *search) sendGroup(ctx context.Context, g directory.Group) error {
	var members []string
	if s.needMembers {
		var err error
		if sm, ok := s.c.s.store.(sharedMembers); ok {
			members, err = sm.SharedMembers(ctx, g.ID)
		} else {
			members, err = s.c.s.store.Members(ctx, g.ID)
		}
		if err != nil {
			return err
		}
	}
	s.next = cursor{srcGroups, g.ID}
	return s.sendIf(ctx, s.c.s.tree.groupEntryFor(g, members, s.needMemberDNs, s.need))
}

// sharedMembers is a Reader that can hand out a group's members without
// copying them (directory.View): the entry built from them only reads.
type sharedMembers interface {
	SharedMembers(ctx context.Context, groupID int64) ([]string, error)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// filterUses reports whether a filter mentions an attribute.
func filterUses(p *ber.Packet, lower string) bool {
	switch p.Tag {
	case filterAnd, filterOr, filterNot:
		for _, c := range p.Children {
			if filterUses(c, lower) {
				return true
			}
		}
		return false
	case filterPresent:
		return attrName(p) == lower
	case filterEquality, filterSubstrings, filterGreater, filterLess, filterApprox:
		return attrName(p.Children[0]) == lower
	}
	return false
}

// The planner turns a filter into store lookups when it can, so that an
// equality search on an indexed attribute never scans: a plannable filter
// is an equality (or approx) on an indexed attribute, an AND with one
// plannable child, or an OR whose children all are. The entries found
// are still matched against the whole filter.

// inLower reports whether m holds v in lower case; a short ASCII v is
// lowered on the stack.
func inLower(m map[string]bool, v string) bool {
	var buf [32]byte
	if len(v) > len(buf) {
		return m[strings.ToLower(v)]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 {
			return m[strings.ToLower(v)]
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return m[string(buf[:len(v)])]
}

var personClasses = map[string]bool{"top": true, "person": true, "organizationalperson": true, "inetorgperson": true, "posixaccount": true, "shadowaccount": true, "account": true}
var groupClasses = map[string]bool{"top": true, "posixgroup": true, "groupofnames": true}

func (s *search) planAccounts(ctx context.Context, f *ber.Packet) ([]directory.Account, bool, error) {
	st := s.c.s.store
	return planFilter(ctx, f, nil, func(attr, v string) ([]directory.Account, bool, error) {
		switch attr {
		case "objectclass":
			if !inLower(personClasses, v) {
				return nil, true, nil
			}
		case "uid", "userid":
			u := strings.ToLower(strings.TrimSpace(v))
			if directory.ValidUsername(u) != nil {
				return nil, true, nil
			}
			return found(st.AccountByUsername(ctx, u))
		case "uidnumber":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, true, nil
			}
			return found(st.AccountByUID(ctx, n))
		case "entryuuid":
			return found(st.AccountByUUID(ctx, strings.ToLower(strings.TrimSpace(v))))
		case "mail":
			out, err := st.AccountsByEmail(ctx, strings.TrimSpace(v))
			return out, true, err
		case "memberof":
			g, ok, err := s.groupOfDN(ctx, v)
			if !ok || err != nil {
				return nil, true, err
			}
			names, err := st.Members(ctx, g.ID)
			if err != nil {
				return nil, true, err
			}
			var out []directory.Account
			for _, n := range names {
				if err := ctx.Err(); err != nil {
					return nil, true, err
				}
				a, err := st.AccountByUsername(ctx, n)
				if err == nil {
					out = append(out, a)
				} else if !errors.Is(err, directory.ErrNotFound) {
					return nil, true, err
				}
			}
			return out, true, nil
		}
		return nil, false, nil
	})
}

// smallOr is the longest OR that the group planner looks up term by term
// without first asking whether scanning would be cheaper.
const smallOr = 16

func (s *search) planGroups(ctx context.Context, f *ber.Packet) ([]directory.Group, bool, error) {
	st := s.c.s.store
	// Each term of an OR is a lookup or two; reading every group is one
	// query and one per group. A school has tens or hundreds of groups, so
	// a long OR of member DNs is cheaper scanned: plan it only when the
	// groups outnumber twice its terms.
	mayPlanOr := func(n int) (bool, error) {
		if n <= smallOr {
			return true, nil
		}
		some, err := st.ListGroups(ctx, directory.GroupQuery{Limit: 2 * n})
		return len(some) >= 2*n, err
	}
	return planFilter(ctx, f, mayPlanOr, func(attr, v string) ([]directory.Group, bool, error) {
		groupsOf := func(username string) ([]directory.Group, bool, error) {
			a, err := st.AccountByUsername(ctx, username)
			if errors.Is(err, directory.ErrNotFound) {
				return nil, true, nil
			}
			if err != nil {
				return nil, true, err
			}
			gs, err := st.GroupsOf(ctx, a.ID)
			return gs, true, err
		}
		switch attr {
		case "objectclass":
			if !inLower(groupClasses, v) {
				return nil, true, nil
			}
		case "cn", "commonname":
			n := strings.ToLower(strings.TrimSpace(v))
			if directory.ValidUsername(n) != nil {
				return nil, true, nil
			}
			return found(st.GroupByName(ctx, n))
		case "gidnumber":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, true, nil
			}
			return found(st.GroupByGID(ctx, n))
		case "memberuid":
			return groupsOf(strings.TrimSpace(v))
		case "member":
			username, kind, ok := s.c.s.tree.bindName(v, "")
			if !ok || kind != bindPerson {
				return nil, true, nil
			}
			return groupsOf(username)
		}
		return nil, false, nil
	})
}

// groupOfDN finds the group a DN names.
func (s *search) groupOfDN(ctx context.Context, dn string) (directory.Group, bool, error) {
	rdns, err := parseDN(dn)
	t := &s.c.s.tree
	if err != nil || len(rdns) != len(t.baseRDNs)+2 || rdns[1] != "ou=groups" || strings.Join(rdns[2:], ",") != t.baseNorm {
		return directory.Group{}, false, nil
	}
	name, ok := strings.CutPrefix(rdns[0], "cn=")
	if !ok {
		return directory.Group{}, false, nil
	}
	g, err := s.c.s.store.GroupByName(ctx, name)
	if errors.Is(err, directory.ErrNotFound) {
		return g, false, nil
	}
	return g, err == nil, err
}
