package directory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrDeviceFile is a list of school devices that cannot be read.
var ErrDeviceFile = errors.New("school devices file")

// maxDeviceRows bounds a list of school devices: a trust has some
// thousands.
const maxDeviceRows = 100000

// ParseSchoolDevices reads a list of school devices, as a wireless
// controller or an asset register exports it: CSV, one device a row, the
// MAC address first and an optional label second. A first row that is not
// a MAC address is a header and skipped; blank rows are skipped. Every
// other row must hold a MAC address: the lines that do not are named in
// the error, and nothing is returned.
func ParseSchoolDevices(r io.Reader) ([]SchoolDevice, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []SchoolDevice
	var bad []string
	seen := map[string]bool{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDeviceFile, err)
		}
		if len(out)+len(bad) >= maxDeviceRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrDeviceFile, maxDeviceRows)
		}
		if len(rec) == 0 || strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		first := strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff"))
		mac, ok := NormalMAC(first)
		if !ok {
			if line == 1 {
				continue // a header
			}
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("line %d (%q)", line, first))
			} else if len(bad) == 5 {
				bad = append(bad, "and more")
			}
			continue
		}
		if seen[mac] {
			continue
		}
		seen[mac] = true
		d := SchoolDevice{MAC: mac}
		if len(rec) > 1 {
			d.Label = strings.TrimSpace(rec[1])
		}
		out = append(out, d)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: not a MAC address (write it like aa:bb:cc:dd:ee:ff) on %s", ErrDeviceFile, strings.Join(bad, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no device in the file", ErrDeviceFile)
	}
	return out, nil
}
