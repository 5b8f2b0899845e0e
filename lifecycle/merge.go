package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMixedExports is a merge of a bulk export with a delta: the one says
// who is missing and the other cannot.
var ErrMixedExports = errors.New("cannot merge a bulk export with a delta")

// Merge reads several sources as one export: a school whose MIS prints
// pupils and staff as separate reports (SIMS and Arbor report on one kind
// of person at a time) reads both, so that neither half looks missing. An
// MIS id in more than one source is refused in each, as a duplicate within
// one file is; give one report an IDPrefix when its ids can clash with the
// other's.
func Merge(sources ...Source) Source { return merged(sources) }

type merged []Source

func (ms merged) Read(ctx context.Context) (*Export, error) {
	out := &Export{}
	var names []string
	from := map[string]int{} // MIS id → index of the source it came from
	clash := map[string]bool{}
	for i, s := range ms {
		exp, err := s.Read(ctx)
		if err != nil {
			return nil, err
		}
		if i > 0 && exp.Delta != out.Delta {
			return nil, fmt.Errorf("%w: %s is a %s, %s a %s", ErrMixedExports, names[0], kindOf(out.Delta), exp.Source, kindOf(exp.Delta))
		}
		out.Delta = exp.Delta
		out.ClassesPartial = out.ClassesPartial || exp.ClassesPartial
		out.Rows += exp.Rows
		out.Years = append(out.Years, exp.Years...)
		out.Refused = append(out.Refused, exp.Refused...)
		names = append(names, exp.Source)
		for _, r := range exp.Records {
			if j, dup := from[r.MISID]; dup && j != i {
				clash[r.MISID] = true
			}
			from[r.MISID] = i
		}
		out.Records = append(out.Records, exp.Records...)
	}
	out.Source = strings.Join(names, " + ")
	if len(clash) == 0 {
		return out, nil
	}
	lines := map[string][]string{}
	for _, r := range out.Records {
		if clash[r.MISID] {
			lines[r.MISID] = append(lines[r.MISID], fmt.Sprintf("%s line %d", r.File, r.Line))
		}
	}
	for _, r := range out.Records {
		if clash[r.MISID] {
			out.Refused = append(out.Refused, Refusal{File: r.File, Line: r.Line, MISID: r.MISID,
				Reason: fmt.Sprintf("MIS id %s is in more than one report (%s): give one report an id_prefix in its mapping, or fix the MIS", r.MISID, strings.Join(lines[r.MISID], ", "))})
		}
	}
	out.Records = slices.DeleteFunc(out.Records, func(r Record) bool { return clash[r.MISID] })
	return out, nil
}

func kindOf(delta bool) string {
	if delta {
		return "delta"
	}
	return "bulk export"
}
