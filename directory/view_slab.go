package directory

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"slices"
)

// viewSlot is one account a View holds, each part one pointer-free string
// replaced whole, never changed: its username (shared by the member lists
// of its groups), its facts (factsWriter) and the ids of its groups
// (uvarints). A free slot has no name.
type viewSlot struct {
	name   string
	facts  string
	groups string
}

// accountSlab holds a View's accounts in slots indexed by int32, and finds
// them by username, id and uidNumber through indexes without pointers, so
// that the garbage collector marks a few objects per account and scans
// none of the indexes. A slot freed is used again before the slab grows:
// its length is the most accounts held at once.
type accountSlab struct {
	slots []viewSlot
	free  []int32
	names slotIndex[string]
	ids   slotIndex[int64]
	uids  slotIndex[int64]
	n     int // accounts held
	// also holds the AlsoSchools of the few accounts that have them
	// (pupils on the roll of more than one school).
	also map[int32][]string
}

func newAccountSlab(n int) *accountSlab {
	seed := maphash.MakeSeed()
	return &accountSlab{
		slots: make([]viewSlot, 0, n),
		names: newSlotIndex(n, func(k string) uint64 { return maphash.String(seed, k) }, func(s *viewSlot) string { return s.name }),
		ids: newSlotIndex(n, hashID, func(s *viewSlot) int64 {
			id, _ := factsAccountIDs(s.facts)
			return id
		}),
		uids: newSlotIndex(n, hashID, func(s *viewSlot) int64 {
			_, uid := factsAccountIDs(s.facts)
			return uid
		}),
		also: map[int32][]string{},
	}
}

// byName is the slot of the account named name.
func (s *accountSlab) byName(name string) (int32, bool) { return s.names.find(s.slots, name) }

// byID is the slot of the account whose id is id.
func (s *accountSlab) byID(id int64) (int32, bool) { return s.ids.find(s.slots, id) }

// byUID is the slot of the account whose uidNumber is uid.
func (s *accountSlab) byUID(uid int64) (int32, bool) { return s.uids.find(s.slots, uid) }

// account is the account held in slot i.
func (s *accountSlab) account(i int32) Account {
	sl := &s.slots[i]
	return factsAccount(sl.facts, sl.name, s.also[i])
}

// put holds an account new to the slab, named name, with its facts
// encoded, and gives its slot; it refuses past maxSlots (then the view
// reads that account from the store).
func (s *accountSlab) put(name, facts string, also []string) (int32, error) {
	var i int32
	if len(s.free) == 0 && len(s.slots) >= maxSlots {
		return -1, errors.New("view: more accounts than it can hold")
	}
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
	} else {
		i = int32(len(s.slots))
		s.slots = append(s.slots, viewSlot{})
	}
	s.slots[i] = viewSlot{name: name, facts: facts}
	s.names.add(s.slots, i)
	s.index(i, also)
	s.n++
	return i, nil
}

// index finds slot i by its id and uidNumber, and holds its AlsoSchools.
func (s *accountSlab) index(i int32, also []string) {
	s.ids.add(s.slots, i)
	s.uids.add(s.slots, i)
	if len(also) > 0 {
		s.also[i] = also
	} else {
		delete(s.also, i)
	}
}

// replace gives slot i new facts (of the same account, perhaps renamed).
func (s *accountSlab) replace(i int32, name, facts string, also []string) {
	s.ids.remove(s.slots, i)
	s.uids.remove(s.slots, i)
	if s.slots[i].name != name {
		s.names.remove(s.slots, i)
		s.slots[i].name = name
		s.names.add(s.slots, i)
	}
	s.slots[i].facts = facts
	s.index(i, also)
}

// drop frees slot i.
func (s *accountSlab) drop(i int32) {
	s.ids.remove(s.slots, i)
	s.uids.remove(s.slots, i)
	s.names.remove(s.slots, i)
	delete(s.also, i)
	s.slots[i] = viewSlot{}
	s.free = append(s.free, i)
	s.n--
}

// groupIDs are the ids of the groups packed in g (viewSlot.groups).
func groupIDs(g string) []int64 {
	var out []int64
	for r := (factsReader{s: g}); r.i < len(g); {
		out = append(out, r.int())
	}
	return out
}

// packGroups packs ids as viewSlot.groups holds them.
func packGroups(ids []int64) string {
	var b []byte
	for _, id := range ids {
		b = binary.AppendVarint(b, id)
	}
	return string(b)
}

// withGroup is g with id added, if not in it already.
func withGroup(g string, id int64) string {
	ids := groupIDs(g)
	if slices.Contains(ids, id) {
		return g
	}
	return packGroups(append(ids, id))
}

// withoutGroup is g without id.
func withoutGroup(g string, id int64) string {
	ids := groupIDs(g)
	if !slices.Contains(ids, id) {
		return g
	}
	return packGroups(slices.DeleteFunc(ids, func(x int64) bool { return x == id }))
}

// slotIndex finds a slot by a key of its account (username, id or
// uidNumber): an open-addressing hash table with linear probing, kept at
// most four fifths full, of cells of four bytes: the slot number plus one
// (0 is an empty cell) in the low 24 bits, and the top 8 bits of the key's
// hash above, so that a probe reads the slot's key only when those match.
// It holds no pointers, so the garbage collector does not scan it; the
// keys are read from the slots.
type slotIndex[K comparable] struct {
	hash  func(K) uint64
	key   func(*viewSlot) K
	cells []uint32
	n     int
}

// maxSlots is how many accounts a slotIndex can number.
const maxSlots = 1<<24 - 1

func newSlotIndex[K comparable](n int, hash func(K) uint64, key func(*viewSlot) K) slotIndex[K] {
	size := 16
	for 5*n > 4*size {
		size *= 2
	}
	return slotIndex[K]{hash: hash, key: key, cells: make([]uint32, size)}
}

// probe is where k's probing starts and the tag its cells carry.
func (x *slotIndex[K]) probe(k K) (int, uint32) {
	h := x.hash(k)
	return int(h & uint64(len(x.cells)-1)), uint32(h>>56) << 24
}

func (x *slotIndex[K]) find(slots []viewSlot, k K) (int32, bool) {
	mask := len(x.cells) - 1
	i, tag := x.probe(k)
	for ; ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return -1, false
		}
		if c&^maxSlots == tag && x.key(&slots[c&maxSlots-1]) == k {
			return int32(c&maxSlots) - 1, true
		}
	}
}

// add indexes slot i under its key, which no other slot has.
func (x *slotIndex[K]) add(slots []viewSlot, i int32) {
	if 5*(x.n+1) > 4*len(x.cells) {
		old := x.cells
		x.cells = make([]uint32, 2*len(old))
		for _, c := range old {
			if c != 0 {
				x.place(x.key(&slots[c&maxSlots-1]), int32(c&maxSlots)-1)
			}
		}
	}
	x.place(x.key(&slots[i]), i)
	x.n++
}

func (x *slotIndex[K]) place(k K, slot int32) {
	mask := len(x.cells) - 1
	i, tag := x.probe(k)
	for x.cells[i] != 0 {
		i = (i + 1) & mask
	}
	x.cells[i] = tag | uint32(slot+1)
}

// remove forgets slot i, found by its key, shifting back the cells after
// it that probed past it, so that no tombstones are left.
func (x *slotIndex[K]) remove(slots []viewSlot, i int32) {
	mask := len(x.cells) - 1
	h, _ := x.probe(x.key(&slots[i]))
	for x.cells[h]&maxSlots != uint32(i+1) {
		if x.cells[h] == 0 {
			return
		}
		h = (h + 1) & mask
	}
	x.n--
	for j := (h + 1) & mask; x.cells[j] != 0; j = (j + 1) & mask {
		// The entry at j may move back to the hole at h unless its home
		// lies cyclically in (h, j].
		k, _ := x.probe(x.key(&slots[x.cells[j]&maxSlots-1]))
		if (j > h && (k <= h || k > j)) || (j < h && k <= h && k > j) {
			x.cells[h] = x.cells[j]
			h = j
		}
	}
	x.cells[h] = 0
}

// hashID spreads an id or uidNumber over the table (Fibonacci hashing;
// the table takes the low bits, so the high ones are folded in).
func hashID(id int64) uint64 {
	h := uint64(id) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}
