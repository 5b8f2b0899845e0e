package directory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrReviewFile is a filled-in review that cannot be read.
var ErrReviewFile = errors.New("review file")

// maxReviewRows bounds a review file read back: a review of a trust is
// some thousands of rows.
const maxReviewRows = 200000

// ParseReviewCSV reads the decisions from an exported review (CSV) whose
// Decision and Reason columns the reviewer has filled in: keep or remove,
// and why. Every row needs both: a review that skips an account is not a
// review. Removing a privileged row takes the account out of that group;
// removing any other row disables the account.
func ParseReviewCSV(r io.Reader) ([]ReviewDecision, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: no header row: start from the file keystage review exported: %v", ErrReviewFile, err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	need := []string{"Reason listed", "Username", "Group", "Decision", "Reason"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("%w: no %q column: start from the file keystage review exported", ErrReviewFile, n)
		}
	}
	get := func(rec []string, name string) string {
		if i := col[name]; i < len(rec) {
			return strings.TrimSpace(strings.TrimPrefix(rec[i], "'"))
		}
		return ""
	}
	var out []ReviewDecision
	var missing []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrReviewFile, err)
		}
		if len(out) >= maxReviewRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrReviewFile, maxReviewRows)
		}
		if len(strings.TrimSpace(strings.Join(rec, ""))) == 0 {
			continue
		}
		d := ReviewDecision{Username: get(rec, "Username"), Reason: get(rec, "Reason")}
		if d.Username == "" {
			return nil, fmt.Errorf("%w: line %d has no username", ErrReviewFile, line)
		}
		switch strings.ToLower(get(rec, "Decision")) {
		case "keep", "kept":
		case "remove", "removed":
			d.Remove = true
			switch ReviewKind(get(rec, "Reason listed")) {
			case ReviewPrivileged:
				d.Group = get(rec, "Group")
			case ReviewException:
				// Removing an exception revokes the approval it names.
				if id := ApprovalOfGroup(get(rec, "Group")); id != 0 {
					d.Group = approvalGroup(id)
				}
			}
		default:
			missing = append(missing, fmt.Sprintf("line %d (%s)", line, d.Username))
			continue
		}
		if d.Reason == "" {
			missing = append(missing, fmt.Sprintf("line %d (%s)", line, d.Username))
			continue
		}
		out = append(out, d)
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return nil, fmt.Errorf("%w: write keep or remove in the Decision column and why in the Reason column of %s", ErrReviewFile, strings.Join(missing, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no decisions in the file", ErrReviewFile)
	}
	return out, nil
}
