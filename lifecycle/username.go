package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// The tokens of a username pattern. Everything else in a pattern is taken
// as it stands and must be lower-case letters, digits, '.', '-' or '_'.
//
//	{yy}     two-digit year of the start date (a pupil's intake): 26
//	{yyyy}   four-digit year of the start date: 2026
//	{g}      first letter of the given name: j
//	{given}  the given name: jane
//	{f}      first letter of the family name: s
//	{family} the family name: smith
//	{id}     the MIS id, letters and digits only: p0001234
//
// Names are folded to ASCII (Zoë → zoe, O'Connor-Smyth → oconnorsmyth).
var patternTokens = []string{"{yyyy}", "{yy}", "{given}", "{g}", "{family}", "{f}", "{id}"}

func checkPattern(pat string) error {
	rest := pat
	for _, t := range patternTokens {
		rest = strings.ReplaceAll(rest, t, "")
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%q: %q is neither a token ({yy} {yyyy} {g} {given} {f} {family} {id}) nor a lower-case letter, digit, '.', '-' or '_'", pat, c)
		}
	}
	if pat == "" {
		return fmt.Errorf("empty pattern")
	}
	return nil
}

// foldID keeps the letters and digits of an MIS id, in lower case.
func foldID(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// expand fills a pattern for r, with the first n letters of the given name
// standing for {g}.
func expand(pat string, r Record, n int, today time.Time) string {
	given, family := Fold(r.GivenName), Fold(r.FamilyName)
	start := r.StartDate
	if start.IsZero() {
		start = today
	}
	g := given
	if n < len(g) {
		g = g[:n]
	}
	f := family
	if len(f) > 1 {
		f = f[:1]
	}
	return strings.NewReplacer(
		"{yyyy}", fmt.Sprintf("%04d", start.Year()),
		"{yy}", fmt.Sprintf("%02d", start.Year()%100),
		"{given}", given, "{g}", g,
		"{family}", family, "{f}", f,
		"{id}", foldID(r.MISID),
	).Replace(pat)
}

// usernames hands out new usernames for one plan.
type usernames struct {
	p     Policy
	today time.Time
	// taken reports whether a name is held now or was purged within the
	// retention period.
	taken func(ctx context.Context, name string) (bool, error)
	used  map[string]bool // handed out in this plan
}

func (u *usernames) reserved(name string) bool {
	for _, w := range u.p.Reserved {
		if w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// base is the name tried before any collision number: the pattern, then
// (when a reserved word is in it) the pattern with more and more of the
// given name for {g}, and last the role's initial and the MIS id.
func (u *usernames) base(r Record) string {
	pat := u.p.pattern(r.Role)
	limit := u.p.maxUsername()
	seen := map[string]bool{}
	for n := 1; n <= max(1, len(Fold(r.GivenName))); n++ {
		b := expand(pat, r, n, u.today)
		if len(b) > limit {
			b = b[:limit]
		}
		b = strings.TrimRight(b, ".-_")
		if seen[b] {
			break
		}
		seen[b] = true
		if directory.ValidUsername(b) == nil && !u.reserved(b) {
			return b
		}
		if !strings.Contains(pat, "{g}") {
			break
		}
	}
	b := string(r.Role)[:1] + foldID(r.MISID)
	if len(b) > limit {
		b = b[:limit]
	}
	return b
}

// next gives r a username: its base, or the base with 2, 3, … appended,
// passing over names taken, recently purged, reserved or invalid.
func (u *usernames) next(ctx context.Context, r Record) (string, error) {
	base := u.base(r)
	for n := 1; n < 100000; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s%d", base, n)
		}
		if u.used[name] || u.reserved(name) || directory.ValidUsername(name) != nil {
			continue
		}
		taken, err := u.taken(ctx, name)
		if err != nil {
			return "", err
		}
		if !taken {
			u.used[name] = true
			return name, nil
		}
	}
	return "", fmt.Errorf("no free username for %s from %q", r.MISID, base)
}
