package directory

import (
	"encoding/binary"
	"time"
)

// A View holds each account's facts (accountFacts but the username and
// AlsoSchools) encoded in one immutable string, so that each is one
// pointer-free heap object the garbage collector never scans, however
// many there are. Reads decode what they return from it: strings as
// substrings of it (no copy), times rebuilt exactly as the store gave them
// (same instant, same location, so that == holds).
//
// The string is sections one after another, each its length (uvarint)
// then its body (an empty section is its length alone): the account, then
// each list (factSections), a count then the entries. Integers are
// varints, strings a length and their bytes, a boolean a byte.

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
}

// encode gives f (but its username and AlsoSchools) as one string.
func (w *factsWriter) encode(f *accountFacts) string {
	w.out = w.out[:0]
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
	w.time(a.CreatedAt)
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

func (w *factsWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// viewWords are the values that most accounts share of their enumerated
// fields, each encoded in one byte (its index plus one; 0: the value
// follows as a string).
var viewWords = [...]string{
	string(RoleStaff), string(RolePupil), string(RoleGuest), string(RoleService),
	string(SourceMIS), string(SourceManual), string(StatusActive), string(StatusDisabled),
	string(CredPassword), string(CredWiFi), "/bin/bash", "/bin/sh", "/usr/sbin/nologin",
}

func (w *factsWriter) word(s string) {
	for i, x := range viewWords {
		if s == x {
			w.b = append(w.b, byte(i+1))
			return
		}
	}
	w.b = append(w.b, 0)
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
	timeSet   = 1
	timeUTC   = 2 // else time.Local
	timeMicro = 4 // eight bytes of microseconds since the Unix epoch follow; else seconds and nanoseconds, varints
)

// time encodes t as the instant since the Unix epoch and its location, UTC
// (as the store gives every time) or Local; any other location is kept as
// UTC, the same instant. A monotonic reading is not kept (the store's
// times have none).
func (w *factsWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	flags := byte(timeSet)
	if t.Location() != time.Local {
		flags |= timeUTC
	}
	if us := t.UnixMicro(); t.Nanosecond()%1000 == 0 && time.UnixMicro(us).Equal(t) {
		w.b = binary.LittleEndian.AppendUint64(append(w.b, flags|timeMicro), uint64(us))
		return
	}
	w.b = append(w.b, flags)
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

// factsReader decodes what factsWriter encoded. The string is the view's
// own: a malformed one is a bug, and panics.
type factsReader struct {
	s string
	i int
}

// section starts reading section sec of s and gives its length.
func section(s string, sec int) (factsReader, int) {
	r := factsReader{s: s}
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

func (r *factsReader) uintLong() uint64 {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		c := r.s[r.i]
		r.i++
		if c < 0x80 {
			return x | uint64(c)<<shift
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
	n := int(r.s[r.i])
	if n < 0x80 {
		r.i++
	} else {
		n = int(r.uintLong())
	}
	s := r.s[r.i : r.i+n]
	r.i += n
	return s
}

func (r *factsReader) word() string {
	c := r.s[r.i]
	r.i++
	if c > 0 {
		return viewWords[c-1]
	}
	return r.str()
}

func (r *factsReader) bool() bool {
	c := r.s[r.i]
	r.i++
	return c != 0
}

func (r *factsReader) time() time.Time {
	flags := r.s[r.i]
	r.i++
	if flags == 0 {
		return time.Time{}
	}
	var t time.Time
	if flags&timeMicro != 0 {
		b := r.s[r.i : r.i+8]
		r.i += 8
		t = time.UnixMicro(int64(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56))
	} else {
		sec := r.int()
		t = time.Unix(sec, int64(r.uint()))
	}
	if flags&timeUTC != 0 {
		t = t.UTC()
	}
	return t
}

// factsAccountIDs is the id and uidNumber of the account encoded in s.
func factsAccountIDs(s string) (id, uid int64) {
	r, _ := section(s, secAccount)
	return r.int(), r.int()
}

// factsAccount decodes the account encoded in s, named username.
func factsAccount(s, username string, also []string) Account {
	r, _ := section(s, secAccount)
	var a Account
	a.ID = r.int()
	a.UIDNumber = r.int()
	a.UUID = r.str()
	a.Username = username
	a.Role = Role(r.word())
	a.Source = Source(r.word())
	a.MISID = r.str()
	a.School = r.str()
	if r.bool() {
		a.AlsoSchools = also
		if also == nil {
			a.AlsoSchools = []string{}
		}
	}
	a.GivenName = r.str()
	a.FamilyName = r.str()
	a.DisplayName = r.str()
	a.LegalNameWithheld = r.bool()
	a.Email = r.str()
	a.YearGroup = r.str()
	a.RegGroup = r.str()
	a.StartDate = r.time()
	a.LeaveDate = r.time()
	a.Status = Status(r.word())
	a.DisabledAt = r.time()
	a.DisableReason = r.str()
	a.MustChangePassword = r.bool()
	a.GIDNumber = r.int()
	a.HomeDirectory = r.str()
	a.LoginShell = r.word()
	a.CreatedAt = r.time()
	a.UpdatedAt = r.time()
	return a
}

// factsCredentials decodes the credentials of kind k encoded in s (a kind
// the view holds), newest first; nil when there are none.
func factsCredentials(s string, k CredentialKind) []Credential {
	r, n := section(s, credSection(k))
	n = r.count(n)
	if n == 0 {
		return nil
	}
	id, _ := factsAccountIDs(s)
	out := make([]Credential, n)
	for i := range out {
		c := &out[i]
		c.ID = r.int()
		c.AccountID = id + r.int()
		c.Kind = CredentialKind(r.word())
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
	r, n := section(s, secSuspensions)
	n = r.count(n)
	if n == 0 {
		return nil
	}
	id, _ := factsAccountIDs(s)
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
	r, n := section(s, secSignatures)
	n = r.count(n)
	if n == 0 {
		return nil
	}
	id, _ := factsAccountIDs(s)
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
	r, n := section(s, secConsents)
	n = r.count(n)
	if n == 0 {
		return nil
	}
	id, _ := factsAccountIDs(s)
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
	r, n := section(s, secApprovals)
	n = r.count(n)
	if n == 0 {
		return nil
	}
	id, _ := factsAccountIDs(s)
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
