package directory

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// TestSlotIndexAgreesWithAMap: names added and removed at random, through
// many growths and backward shifts, are found exactly where a map says.
func TestSlotIndexAgreesWithAMap(t *testing.T) {
	seed := maphash.MakeSeed()
	// A poor hash puts many names on few homes, so that probing wraps and
	// deletions shift long runs back.
	for name, hash := range map[string]func(string) uint64{
		"maphash": func(k string) uint64 { return maphash.String(seed, k) },
		"clashing": func(k string) uint64 {
			return maphash.String(seed, k)&0x0300_0000_0000_0007 | 0xfff0
		},
	} {
		x := newSlotIndex(0, hash, func(s *viewSlot) string { return s.name })
		var slots []viewSlot
		want := map[string]int32{}
		r := rand.New(rand.NewPCG(1, 2))
		for range 20000 {
			k := fmt.Sprint("u", r.IntN(600))
			if i, ok := want[k]; ok {
				x.remove(slots, i)
				slots[i].name = ""
				delete(want, k)
			} else {
				i := int32(len(slots))
				slots = append(slots, viewSlot{name: k})
				x.add(slots, i)
				want[k] = i
			}
			if x.n != len(want) {
				t.Fatalf("%s: %d held, want %d", name, x.n, len(want))
			}
		}
		for i := range 600 {
			k := fmt.Sprint("u", i)
			got, ok := x.find(slots, k)
			if w, held := want[k]; ok != held || (held && got != w) {
				t.Errorf("%s: %s found at %d (%v), want %d (%v)", name, k, got, ok, w, held)
			}
		}
	}
}
