package passwords

import (
	"sync"
	"testing"
)

// However many verifications run at once (a pupil binding on a few hundred
// connections), the memory-hard hashes never hold more than the budget,
// and every one of them still answers.
func TestMemoryHardHashesShareABudget(t *testing.T) {
	h := &Hasher{Params: Argon2Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	enc, err := h.Hash("Correct-Horse-7")
	if err != nil {
		t.Fatal(err)
	}
	memoryMu.Lock()
	memoryPeak = memoryHeld
	memoryMu.Unlock()
	n := int(memoryBudget/int64(h.Params.Memory)) * 4 // four times what fits
	var wg sync.WaitGroup
	oks := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				oks[i], _, _ = h.Verify(enc, "Correct-Horse-7")
			} else {
				h.DummyVerify("Correct-Horse-7")
				oks[i] = true
			}
		}()
	}
	wg.Wait()
	for i, ok := range oks {
		if !ok {
			t.Fatalf("verification %d of %d failed", i, n)
		}
	}
	memoryMu.Lock()
	peak, held := memoryPeak, memoryHeld
	memoryMu.Unlock()
	if peak > memoryBudget {
		t.Errorf("%d KiB held at once, budget %d KiB", peak, memoryBudget)
	}
	if peak < int64(h.Params.Memory)*2 {
		t.Errorf("at most %d KiB held at once: the hashes ran one by one, not side by side", peak)
	}
	if held != 0 {
		t.Errorf("%d KiB still held after every hash returned", held)
	}
}

// A hash that asks for more than the whole budget still verifies: it waits
// for all of it and runs alone.
func TestHashLargerThanTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with more memory than the budget")
	}
	big := uint32(memoryBudget + 1024)
	h := &Hasher{Params: Argon2Params{Memory: big, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	enc, err := h.Hash("Correct-Horse-7")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := (&Hasher{Params: DefaultArgon2Params()}).Verify(enc, "Correct-Horse-7"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
}
