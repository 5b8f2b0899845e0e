package directory

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// A View holds each account's facts (accountFacts but the username and
// AlsoSchools) encoded in one immutable string, so that each is one
// pointer-free heap object the garbage collector never scans, however
// many there are. Reads decode what they return from it: strings as
// substrings of it (no copy), times rebuilt exactly as the store gave them
// (same instant, same location, so that == holds).
//
// The string is a byte whose bit sec-1 says that list section sec is not
// empty (most are: their reads look no further), then the sections one
// after another, each its length (uvarint) then its body (an empty
// section is its length alone): the account, then each list
// (factSections), a count then the entries. Integers are
// varints, strings a length and their bytes (factsWriter.str, word), times
// mostly the few bytes of their distance from the account's creation
// (factsWriter.time), a boolean a byte.

// The sections of an encoded accountFacts, in order.
const (
	secAccount = iota
	secPasswords
	secWiFi
	secSuspensions
	secSignatures
	secConsents
	secApprovals
	factSections
)

// The list sections fit the first byte's bits (else this does not compile).
const _ = uint(8 - (factSections - 1))

// credSection is the section of the credentials of kind k that the view
// holds (viewHolds).
func credSection(k CredentialKind) int {
	if k == CredWiFi {
		return secWiFi
	}
	return secPasswords
}

// factsWriter encodes accountFacts; its buffers are used again from one
// account to the next.
type factsWriter struct {
	out, b []byte
	base   int64 // see timeMicro
	last   int64 // the microseconds of the last time written so, else 0
}

// encode gives f (but its username and AlsoSchools) as one string.
func (w *factsWriter) encode(f *accountFacts) string {
	w.out, w.base = append(w.out[:0], 0), 0
	id := f.Account.ID
	for sec := range factSections {
		w.b = w.b[:0]
		switch sec {
		case secAccount:
			w.account(&f.Account)
		case secPasswords, secWiFi:
			n := 0
			for i := range f.Credentials {
				if credSection(f.Credentials[i].Kind) == sec {
					n++
				}
			}
			if n > 0 {
				w.uint(uint64(n))
			}
			for i := range f.Credentials {
				if c := &f.Credentials[i]; credSection(c.Kind) == sec {
					w.int(c.ID)
					w.int(c.AccountID - id)
					w.word(string(c.Kind))
					w.str(c.Name)
					w.str(c.Secret)
					w.str(c.KeyID)
					w.time(c.CreatedAt)
					w.time(c.ExpiresAt)
					w.time(c.RevokedAt)
					w.time(c.LastUsed)
				}
			}
		case secSuspensions:
			w.count(len(f.Suspensions))
			for i := range f.Suspensions {
				x := &f.Suspensions[i]
				w.int(x.ID)
				w.int(x.AccountID - id)
				w.str(string(x.Scope))
				w.time(x.From)
				w.time(x.Until)
				w.str(x.Reason)
				w.str(x.IncidentRef)
				w.str(x.CreatedBy)
				w.time(x.CreatedAt)
				w.time(x.LiftedAt)
				w.str(x.LiftedBy)
				w.str(x.LiftRole)
				w.str(x.TalkWith)
				w.time(x.TalkAt)
				w.str(x.TalkNote)
			}
		case secSignatures:
			w.count(len(f.Signatures))
			for i := range f.Signatures {
				x := &f.Signatures[i]
				w.int(x.ID)
				w.int(x.AccountID - id)
				w.int(x.DocumentID)
				w.str(x.Digest)
				w.time(x.SignedAt)
				w.str(string(x.Method))
				w.str(x.Address)
				w.str(x.UserAgent)
				w.time(x.FormDate)
				w.str(x.Witness)
				w.str(x.RecordedBy)
				w.bool(x.NoticeAcknowledged)
			}
		case secConsents:
			w.count(len(f.Consents))
			for i := range f.Consents {
				x := &f.Consents[i]
				w.int(x.ID)
				w.int(x.AccountID - id)
				w.int(x.DocumentID)
				w.str(x.ParentName)
				w.str(x.Relationship)
				w.str(string(x.Decision))
				w.time(x.GivenAt)
				w.str(string(x.Method))
				w.str(x.RecordedBy)
				w.time(x.WithdrawnAt)
			}
		case secApprovals:
			w.count(len(f.Approvals))
			for i := range f.Approvals {
				x := &f.Approvals[i]
				w.int(x.ID)
				w.int(x.AccountID - id)
				w.str(string(x.Kind))
				w.str(x.Device)
				w.str(x.VLAN)
				w.str(x.FilterID)
				w.str(x.PasswordPolicy)
				w.str(x.Reason)
				w.str(x.ApprovedBy)
				w.str(x.RecordedBy)
				w.time(x.CreatedAt)
				w.time(x.Until)
				w.time(x.RevokedAt)
				w.str(x.RevokedBy)
			}
		}
		if len(w.b) > 0 && sec != secAccount {
			w.out[0] |= 1 << (sec - 1)
		}
		w.out = binary.AppendUvarint(w.out, uint64(len(w.b)))
		w.out = append(w.out, w.b...)
	}
	return string(w.out)
}

// account encodes a but its username and AlsoSchools; the id and
// uidNumber come first, for factsAccountIDs.
func (w *factsWriter) account(a *Account) {
	w.int(a.ID)
	w.int(a.UIDNumber)
	w.time(a.CreatedAt)
	w.base = w.last
	w.str(a.UUID)
	w.word(string(a.Role))
	w.word(string(a.Source))
	w.str(a.MISID)
	w.str(a.School)
	w.bool(a.AlsoSchools != nil) // held beside (accountSlab.also) when not empty
	w.str(a.GivenName)
	w.str(a.FamilyName)
	w.str(a.DisplayName)
	w.bool(a.LegalNameWithheld)
	w.str(a.Email)
	w.str(a.YearGroup)
	w.str(a.RegGroup)
	w.time(a.StartDate)
	w.time(a.LeaveDate)
	w.word(string(a.Status))
	w.time(a.DisabledAt)
	w.str(a.DisableReason)
	w.bool(a.MustChangePassword)
	w.int(a.GIDNumber)
	w.str(a.HomeDirectory)
	w.word(a.LoginShell)
	w.time(a.UpdatedAt)
}

func (w *factsWriter) uint(n uint64) { w.b = binary.AppendUvarint(w.b, n) }
func (w *factsWriter) int(n int64)   { w.b = binary.AppendVarint(w.b, n) }

// count starts a list; an empty one is an empty section.
func (w *factsWriter) count(n int) {
	if n > 0 {
		w.uint(uint64(n))
	}
}

// str writes s after its length: one byte below strWord, else strLong and
// four bytes (little-endian), so that a read of a string takes no loop and
// inlines.
func (w *factsWriter) str(s string) {
	if len(s) < strWord {
		w.b = append(w.b, byte(len(s)))
	} else {
		w.b = binary.LittleEndian.AppendUint32(append(w.b, strLong), uint32(len(s)))
	}
	w.b = append(w.b, s...)
}

// The first byte of a string, past its length: strWord+k is viewWords[k];
// strLong, a length of four bytes follows.
const (
	strWord = 0xe0
	strLong = 0xff
)

// viewWords are the values that most accounts share of their enumerated
// fields, each encoded in one byte (strWord plus its index).
var viewWords = [...]string{
	string(RoleStaff), string(RolePupil), string(RoleGuest), string(RoleService),
	string(SourceMIS), string(SourceManual), string(StatusActive), string(StatusDisabled),
	string(CredPassword), string(CredWiFi), "/bin/bash", "/bin/sh", "/usr/sbin/nologin",
}

// viewWords fit between strWord and strLong (else this does not compile).
const _ = uint(strLong - strWord - len(viewWords))

// word writes s as str does, in one byte when it is one of viewWords.
func (w *factsWriter) word(s string) {
	for i, x := range viewWords {
		if s == x {
			w.b = append(w.b, byte(strWord+i))
			return
		}
	}
	w.str(s)
}

func (w *factsWriter) bool(x bool) {
	if x {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// The flags of an encoded time, its first byte; a zero time is that byte
// 0 alone.
const (
	timeSet = 1
	timeUTC = 2 // else time.Local
	// timeMicro: the microseconds since the Unix epoch less the base (the
	// account's CreatedAt, once read: the times of one account lie near
	// it, and their differences take a few bytes) follow, zigzagged, in
	// as many little-endian bytes as the bits above timeShift say; else
	// the seconds and nanoseconds since the epoch, varints.
	timeMicro = 4
	timeShift = 3
)

// time encodes t as the instant since the Unix epoch and its location, UTC
// (as the store gives every time) or Local; any other location is kept as
// UTC, the same instant. A monotonic reading is not kept (the store's
// times have none).
func (w *factsWriter) time(t time.Time) {
	w.last = 0
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	flags := byte(timeSet)
	if t.Location() != time.Local {
		flags |= timeUTC
	}
	if us := t.UnixMicro(); t.Nanosecond()%1000 == 0 && time.UnixMicro(us).Equal(t) {
		d := us - w.base // wraps, and back, at the ends of the range
		z := uint64(d<<1) ^ uint64(d>>63)
		n := (bits.Len64(z) + 7) / 8
		w.b = append(w.b, flags|timeMicro|byte(n)<<timeShift)
		for range n {
			w.b = append(w.b, byte(z))
			z >>= 8
		}
		w.last = us
		return
	}
	w.b = append(w.b, flags)
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

// factsReader decodes what factsWriter encoded. The string is the view's
// own: a malformed one is a bug, and panics.
type factsReader struct {
	s    string
	i    int
	base int64 // see timeMicro
	last int64
}

// section starts reading section sec of s and gives its length.
func section(s string, sec int) (factsReader, int) {
	r := factsReader{s: s, i: 1}
	for range sec {
		n := int(r.uint())
		r.i += n
	}
	return r, int(r.uint())
}

// count is how many entries a list section of length n holds.
func (r *factsReader) count(n int) int {
	if n == 0 {
		return 0
	}
	return int(r.uint())
}

func (r *factsReader) uint() uint64 {
	if c := r.s[r.i]; c < 0x80 {
		r.i++
		return uint64(c)
	}
	return r.uintLong()
}

// uintLong is uint past its first byte. uvarintAt and timeAt are
// functions of the position, not methods, and uvarintAt is not inlined, so
// that the short paths inline and factsAccount keeps its position in a
// register.
func (r *factsReader) uintLong() uint64 {
	x, i := uvarintAt(r.s, r.i)
	r.i = i
	return x
}

//go:noinline
func uvarintAt(s string, i int) (uint64, int) {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		c := s[i]
		i++
		if c < 0x80 {
			return x | uint64(c)<<shift, i
		}
		x |= uint64(c&0x7f) << shift
	}
}

func (r *factsReader) int() int64 {
	u := r.uint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *factsReader) str() string {
	var v string
	v, r.i = strAt(r.s, r.i)
	return v
}

func (r *factsReader) bool() bool {
	c := r.s[r.i]
	r.i++
	return c != 0
}

func (r *factsReader) time() time.Time {
	t, i, last := timeAt(r.s, r.i, r.base)
	r.i, r.last = i, last
	return t
}

// timeAt decodes the time at s[i:], whose base is base (see timeMicro),
// and gives where it ends and its microseconds (or 0, see
// factsWriter.last).
func timeAt(s string, i int, base int64) (t time.Time, end int, last int64) {
	flags := s[i]
	i++
	if flags == 0 {
		return time.Time{}, i, 0
	}
	if flags&timeMicro != 0 {
		n := int(flags >> timeShift)
		var z uint64
		if b := s[i:]; len(b) >= 8 {
			z = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
				uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			z &= 1<<(8*n) - 1
		} else {
			for j := n - 1; j >= 0; j-- {
				z = z<<8 | uint64(b[j])
			}
		}
		i += n
		last = base + (int64(z>>1) ^ -int64(z&1))
		t = time.UnixMicro(last)
	} else {
		var sec, ns uint64
		sec, i = uvarintAt(s, i)
		ns, i = uvarintAt(s, i)
		t = time.Unix(int64(sec>>1)^-int64(sec&1), int64(ns))
	}
	if flags&timeUTC != 0 {
		t = t.UTC()
	}
	return t, i, last
}

// factsAccountIDs is the id and uidNumber of the account encoded in s.
func factsAccountIDs(s string) (id, uid int64) {
	r, _ := section(s, secAccount)
	return r.int(), r.int()
}

// listSection starts reading list section sec of s, as factsWriter wrote
// it after the account: it gives the account's id, and how many entries
// the list has.
func listSection(s string, sec int) (r factsReader, id int64, n int) {
	if s[0]&(1<<(sec-1)) == 0 {
		return r, 0, 0
	}
	r, n = section(s, sec)
	if n = r.count(n); n == 0 {
		return r, 0, 0
	}
	a, _ := section(s, secAccount)
	id = a.int()
	a.int()
	a.time()
	r.base = a.last
	return r, id, n
}

// factsAccount decodes the account encoded in s, named username. It is
// the read of every request: it keeps its position in a local, not in a
// factsReader, so that it stays in a register.
func factsAccount(s, username string, also []string) Account {
	r, _ := section(s, secAccount)
	i := r.i
	var a Account
	var base int64
	var set bool
	a.ID, i = intAt(s, i)
	a.UIDNumber, i = intAt(s, i)
	a.CreatedAt, i, base = timeAt(s, i, 0)
	at := func(i int) (time.Time, int) {
		t, i, _ := timeAt(s, i, base)
		return t, i
	}
	a.UUID, i = strAt(s, i)
	a.Username = username
	var w string
	w, i = strAt(s, i)
	a.Role = Role(w)
	w, i = strAt(s, i)
	a.Source = Source(w)
	a.MISID, i = strAt(s, i)
	a.School, i = strAt(s, i)
	set, i = s[i] != 0, i+1
	if set {
		a.AlsoSchools = also
		if also == nil {
			a.AlsoSchools = []string{}
		}
	}
	a.GivenName, i = strAt(s, i)
	a.FamilyName, i = strAt(s, i)
	a.DisplayName, i = strAt(s, i)
	a.LegalNameWithheld, i = s[i] != 0, i+1
	a.Email, i = strAt(s, i)
	a.YearGroup, i = strAt(s, i)
	a.RegGroup, i = strAt(s, i)
	a.StartDate, i = at(i)
	a.LeaveDate, i = at(i)
	w, i = strAt(s, i)
	a.Status = Status(w)
	a.DisabledAt, i = at(i)
	a.DisableReason, i = strAt(s, i)
	a.MustChangePassword, i = s[i] != 0, i+1
	a.GIDNumber, i = intAt(s, i)
	a.HomeDirectory, i = strAt(s, i)
	a.LoginShell, i = strAt(s, i)
	a.UpdatedAt, _ = at(i)
	return a
}

// strAt is the string at s[i:] (factsWriter.str and word) and where it
// ends.
func strAt(s string, i int) (string, int) {
	n := int(s[i])
	i++
	if n >= strWord {
		if n != strLong {
			return viewWords[n-strWord], i
		}
		n = int(s[i]) | int(s[i+1])<<8 | int(s[i+2])<<16 | int(s[i+3])<<24
		i += 4
	}
	return s[i : i+n], i + n
}

// intAt is the varint at s[i:] and where it ends.
func intAt(s string, i int) (int64, int) {
	u := uint64(s[i])
	if u >= 0x80 {
		u, i = uvarintAt(s, i)
	} else {
		i++
	}
	return int64(u>>1) ^ -int64(u&1), i
}

// factsCredentials decodes the credentials of kind k encoded in s (a kind
// the view holds), newest first; nil when there are none.
func factsCredentials(s string, k CredentialKind) []Credential {
	r, id, n := listSection(s, credSection(k))
	if n == 0 {
		return nil
	}
	out := make([]Credential, n)
	for i := range out {
		c := &out[i]
		c.ID = r.int()
		c.AccountID = id + r.int()
		c.Kind = CredentialKind(r.str())
		c.Name = r.str()
		c.Secret = r.str()
		c.KeyID = r.str()
		c.CreatedAt = r.time()
		c.ExpiresAt = r.time()
		c.RevokedAt = r.time()
		c.LastUsed = r.time()
	}
	return out
}

// factsSuspensions decodes the suspensions encoded in s; nil when there
// are none.
func factsSuspensions(s string) []Suspension {
	r, id, n := listSection(s, secSuspensions)
	if n == 0 {
		return nil
	}
	out := make([]Suspension, n)
	for i := range out {
		x := &out[i]
		x.ID = r.int()
		x.AccountID = id + r.int()
		x.Scope = SuspensionScope(r.str())
		x.From = r.time()
		x.Until = r.time()
		x.Reason = r.str()
		x.IncidentRef = r.str()
		x.CreatedBy = r.str()
		x.CreatedAt = r.time()
		x.LiftedAt = r.time()
		x.LiftedBy = r.str()
		x.LiftRole = r.str()
		x.TalkWith = r.str()
		x.TalkAt = r.time()
		x.TalkNote = r.str()
	}
	return out
}

// factsSignatures decodes the AUP signatures encoded in s; nil when there
// are none.
func factsSignatures(s string) []Signature {
	r, id, n := listSection(s, secSignatures)
	if n == 0 {
		return nil
	}
	out := make([]Signature, n)
	for i := range out {
		x := &out[i]
		x.ID = r.int()
		x.AccountID = id + r.int()
		x.DocumentID = r.int()
		x.Digest = r.str()
		x.SignedAt = r.time()
		x.Method = SignMethod(r.str())
		x.Address = r.str()
		x.UserAgent = r.str()
		x.FormDate = r.time()
		x.Witness = r.str()
		x.RecordedBy = r.str()
		x.NoticeAcknowledged = r.bool()
	}
	return out
}

// factsConsents decodes the parental consents encoded in s; nil when
// there are none.
func factsConsents(s string) []Consent {
	r, id, n := listSection(s, secConsents)
	if n == 0 {
		return nil
	}
	out := make([]Consent, n)
	for i := range out {
		x := &out[i]
		x.ID = r.int()
		x.AccountID = id + r.int()
		x.DocumentID = r.int()
		x.ParentName = r.str()
		x.Relationship = r.str()
		x.Decision = ConsentDecision(r.str())
		x.GivenAt = r.time()
		x.Method = SignMethod(r.str())
		x.RecordedBy = r.str()
		x.WithdrawnAt = r.time()
	}
	return out
}

// factsApprovals decodes the approvals encoded in s; nil when there are
// none.
func factsApprovals(s string) []Approval {
	r, id, n := listSection(s, secApprovals)
	if n == 0 {
		return nil
	}
	out := make([]Approval, n)
	for i := range out {
		x := &out[i]
		x.ID = r.int()
		x.AccountID = id + r.int()
		x.Kind = ApprovalKind(r.str())
		x.Device = r.str()
		x.VLAN = r.str()
		x.FilterID = r.str()
		x.PasswordPolicy = r.str()
		x.Reason = r.str()
		x.ApprovedBy = r.str()
		x.RecordedBy = r.str()
		x.CreatedAt = r.time()
		x.Until = r.time()
		x.RevokedAt = r.time()
		x.RevokedBy = r.str()
	}
	return out
}
