package webfilter

import (
	"testing"
)

// BenchmarkEnqueue is what the RADIUS frontend spends per accounting
// record on a receiver's queue (a receiver that is down: nothing is read).
func BenchmarkEnqueue(b *testing.B) {
	f, err := New(Config{Receivers: []Receiver{receiver("down", "127.0.0.1:9")}, QueueDir: b.TempDir()}, fakeDir{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	e := pupilStart(1)
	b.ReportAllocs()
	for b.Loop() {
		f.Enqueue(e)
	}
}
