package ldapserver

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"keystage.dev/keystage/directory"
)

func seedsFromTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ber")
	if len(files) == 0 {
		f.Fatal("no testdata/*.ber seeds")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 3 {
			f.Add(b[:len(b)/2])
			f.Add(b[1:])
		}
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
}

// FuzzDecode feeds arbitrary bytes through every decoder and the filter
// evaluator: errors are fine, panics are not.
func FuzzDecode(f *testing.F) {
	seedsFromTestdata(f)
	t := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	e := t.personEntry(directory.Account{Username: "apupil", Role: directory.RolePupil, GivenName: "Amir", FamilyName: "Pupil", UIDNumber: 10001, GIDNumber: 10001},
		[]directory.Group{{Name: "7a"}})
	f.Fuzz(func(tt *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 16 {
			frame, err := readFrame(r, 64<<10)
			if err != nil {
				return
			}
			m, err := decodeMessage(frame)
			if err != nil {
				continue
			}
			switch m.op.Tag {
			case appBindRequest:
				decodeBind(m.op)
			case appSearchRequest:
				if s, err := decodeSearch(m.op); err == nil {
					if f, err := compileFilter(s.filter, DefaultMaxFilterTerms); err == nil {
						f.matches(e)
					}
					filterUses(s.filter, "memberof")
					sel := newSelection(s.attributes)
					want := envelope(m.id, encodeEntry(e, sel, s.typesOnly))
					if got := appendEntryMessage(nil, m.id, e, sel, s.typesOnly); !bytes.Equal(got, want) {
						tt.Fatalf("the entry written straight to bytes differs from the packets' encoding:\n%x\n%x", got, want)
					}
				}
			case appExtendedRequest:
				if x, err := decodeExtended(m.op); err == nil {
					decodePasswdModify(x.value)
				}
			case appAbandonRequest:
				abandonID(m.op)
			}
			for _, c := range m.controls {
				decodePaging(c.value)
				parseCookie(c.value)
			}
		}
	})
}
