package passwords

import (
	"math"
	"strings"
	"sync"

	"github.com/nbutton23/zxcvbn-go/adjacency"
	"github.com/nbutton23/zxcvbn-go/match"
	"github.com/nbutton23/zxcvbn-go/matching"
	"github.com/nbutton23/zxcvbn-go/scoring"
	zxcvbnmath "github.com/nbutton23/zxcvbn-go/utils/math"
)

// Keyboard walks ("qwerty", "1qaz2wsx", "zxcvbnm") are matched here rather
// than by zxcvbn-go's own spatial matcher, whose entropy function rebuilds the
// qwerty graph (gunzip and JSON parse of an embedded asset) twice for every
// walk it finds: on a 24-character window full of walks that alone cost
// milliseconds per check. zxcvbnScore runs zxcvbn-go with that one matcher
// filtered out, adds the walks found here, and scores the lot with the
// library's own minimum-entropy match sequence, so the score is the one the
// unfiltered library gives (spatial_test.go compares them on a table and a
// fuzz target).

// keyboardGraphs are the graphs zxcvbn-go walks, in its order, with the
// starting positions s and average degree d its entropy uses for each:
// qwerty's figures serve dvorak too, and the keypad's serve the Mac keypad.
// Both figures come from the library's graphs, read once.
type keyboardGraph struct {
	graph adjacency.Graph
	s, d  float64
}

var keyboardGraphs = sync.OnceValue(func() []keyboardGraph {
	qwerty, keypad := adjacency.GraphMap["qwerty"], adjacency.GraphMap["keypad"]
	qs, qd := float64(len(qwerty.Graph)), qwerty.CalculateAvgDegree()
	ks, kd := float64(len(keypad.Graph)), keypad.CalculateAvgDegree()
	return []keyboardGraph{
		{qwerty, qs, qd},
		{adjacency.GraphMap["dvorak"], qs, qd},
		{keypad, ks, kd},
		{adjacency.GraphMap["macKeypad"], ks, kd},
	}
})

// zxcvbnScore is zxcvbn.PasswordStrength(password, userInputs,
// filters...).Score with keyboard walks matched by spatialMatches.
func zxcvbnScore(password string, userInputs []string, filters ...func(match.Matcher) bool) int {
	return zxcvbnStrength(password, userInputs, filters...).Score
}

func zxcvbnStrength(password string, userInputs []string, filters ...func(match.Matcher) bool) scoring.MinEntropyMatch {
	filters = append(filters[:len(filters):len(filters)], matching.FilterSpatialMatcher)
	matches := matching.Omnimatch(password, userInputs, filters...)
	matches = append(matches, spatialMatches(password)...)
	return scoring.MinimumEntropyMatchSequence(password, matches)
}

// spatialMatches finds keyboard walks of three or more keys on every graph,
// the way zxcvbn does: extend a run while each next key is adjacent to the
// previous one, count a turn whenever the direction of adjacency changes
// (the first step is a turn), and count a shifted key whenever the adjacent
// key is the shifted character of its pair ("@" of "2@"). Like zxcvbn-go,
// this works on bytes, so only ASCII can walk.
func spatialMatches(password string) []match.Match {
	var ms []match.Match
	for _, g := range keyboardGraphs() {
		ms = appendWalks(ms, password, g)
	}
	return ms
}

func appendWalks(ms []match.Match, password string, g keyboardGraph) []match.Match {
	for i := 0; i < len(password)-1; {
		j := i + 1
		lastDir, turns, shifted := -1, 0, 0
		for j < len(password) {
			dir, shift := adjacent(g.graph, password[j-1], password[j])
			if dir < 0 {
				break
			}
			if shift {
				shifted++
			}
			if dir != lastDir {
				turns++
				lastDir = dir
			}
			j++
		}
		if j-i > 2 {
			ms = append(ms, match.Match{
				Pattern: "spatial", I: i, J: j - 1, Token: password[i:j],
				DictionaryName: g.graph.Name,
				Entropy:        spatialEntropy(j-i, turns, shifted, g.s, g.d),
			})
		}
		i = j
	}
	return ms
}

// adjacent returns the direction (index in prev's neighbour list) in which
// next lies, or -1, and whether next is the shifted character of that
// neighbour.
func adjacent(g adjacency.Graph, prev, next byte) (dir int, shifted bool) {
	for d, keys := range g.Graph[string(prev)] {
		if k := strings.IndexByte(keys, next); k >= 0 {
			return d, k == 1
		}
	}
	return -1, false
}

// spatialEntropy is zxcvbn's spatial_entropy: log2 of the number of walks of
// length at most L with at most t turns, from s starting keys with d
// neighbours on average, sum over i of sum over j of C(i-1, j-1)*s*d^j, plus
// log2 of the ways to place the shifted keys among the walk.
//
// It keeps zxcvbn-go's bounds, one above the reference implementation's
// (i up to L+1, j up to min(t, i-1)+1), and its order of summation, so that
// scores match the library's to the last bit: the point of matching walks
// here is speed, not a different verdict.
func spatialEntropy(length, turns, shifted int, s, d float64) float64 {
	l := float64(length)
	var possibilities float64
	for i := float64(2); i <= l+1; i++ {
		possibleTurns := math.Min(float64(turns), i-1)
		for j := float64(1); j <= possibleTurns+1; j++ {
			possibilities += zxcvbnmath.NChoseK(i-1, j-1) * s * math.Pow(d, j)
		}
	}
	entropy := math.Log2(possibilities)
	if shifted > 0 {
		S := float64(shifted)
		U := l - S
		possibilities = 0
		for i := float64(0); i < math.Min(S, U)+1; i++ {
			possibilities += zxcvbnmath.NChoseK(S+U, i)
		}
		entropy += math.Log2(possibilities)
	}
	return entropy
}
