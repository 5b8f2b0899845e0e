package lifecycle

import (
	"fmt"
	"slices"
	"strings"
)

// duplicates finds MIS ids on more than one row. Every such row is
// refused, naming all their lines: which row is right is for the MIS to
// say, not a guess here.
type duplicates struct {
	first map[string]int   // MIS id → line of its first row
	more  map[string][]int // MIS id → the lines of its later rows
}

func newDuplicates() *duplicates {
	return &duplicates{first: map[string]int{}, more: map[string][]int{}}
}

// seen notes id on line and is true when an earlier row had it.
func (d *duplicates) seen(id string, line int) bool {
	if _, ok := d.first[id]; ok {
		d.more[id] = append(d.more[id], line)
		return true
	}
	d.first[id] = line
	return false
}

// refuse takes the duplicated ids' records out of exp and refuses their
// rows, what naming the id column in the reason.
func (d *duplicates) refuse(exp *Export, file, what string) {
	if len(d.more) == 0 {
		return
	}
	exp.Records = slices.DeleteFunc(exp.Records, func(r Record) bool { _, dup := d.more[r.MISID]; return dup })
	for id, more := range d.more {
		lines := append([]int{d.first[id]}, more...)
		for _, l := range lines {
			exp.Refused = append(exp.Refused, Refusal{File: file, Line: l, MISID: id,
				Reason: fmt.Sprintf("%s %s appears on lines %s: an id belongs to one person; fix the MIS so that it appears once", what, id, joinInts(lines))})
		}
	}
	slices.SortStableFunc(exp.Refused, func(a, b Refusal) int { return a.Line - b.Line })
}

// joinInts writes 9, 12 and 15.
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
