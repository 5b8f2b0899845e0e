package webfilter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func drain(t *testing.T, q *queue) []string {
	t.Helper()
	var out []string
	for {
		p, tk, ok, err := q.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, string(p))
		if err := q.Ack(tk); err != nil {
			t.Fatal(err)
		}
	}
}

// What was appended and not acknowledged survives closing and reopening
// (a restart of Keystage), in order, and what was acknowledged does not
// come back.
func TestQueueSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.queue")
	q, err := openQueue(path, 1<<20, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := q.Append(fmt.Appendf(nil, "event-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p, tk, _, _ := q.Peek()
	if string(p) != "event-0" {
		t.Fatalf("first = %q", p)
	}
	if err := q.Ack(tk); err != nil {
		t.Fatal(err)
	}
	q.close()
	for _, name := range []string{path, path + ".offset"} {
		if st, err := os.Stat(name); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v, want 0600", name, st.Mode(), err)
		}
	}

	q, err = openQueue(path, 1<<20, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	if q.Len() != 4 {
		t.Errorf("after reopening: %d unread, want 4", q.Len())
	}
	got := fmt.Sprint(drain(t, q))
	if got != "[event-1 event-2 event-3 event-4]" {
		t.Errorf("after reopening: %s", got)
	}
	// Emptied, the file starts again; the next event is read once.
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("drained queue file is %d bytes", st.Size())
	}
	q.Append([]byte("event-5"))
	if got := fmt.Sprint(drain(t, q)); got != "[event-5]" {
		t.Errorf("after draining: %s", got)
	}
}

// A full queue drops its oldest events, counts them, and keeps the newest.
func TestQueueDropsOldestWhenFull(t *testing.T) {
	q, err := openQueue(filepath.Join(t.TempDir(), "f.queue"), 1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	total := 0
	for i := range 5 {
		n, err := q.Append(fmt.Appendf(nil, "e%d", i))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 2 || q.Dropped() != 2 {
		t.Errorf("dropped %d (counted %d), want 2", total, q.Dropped())
	}
	if got := fmt.Sprint(drain(t, q)); got != "[e2 e3 e4]" {
		t.Errorf("kept %s", got)
	}

	// By bytes: each record is 8 bytes of frame and 10 of payload.
	q2, _ := openQueue(filepath.Join(t.TempDir(), "g.queue"), 40, 1000)
	defer q2.close()
	for i := range 4 {
		q2.Append(fmt.Appendf(nil, "payload-%02d", i))
	}
	if got := fmt.Sprint(drain(t, q2)); got != "[payload-02 payload-03]" {
		t.Errorf("kept %s", got)
	}
}

// A record the sender peeked that a full queue dropped meanwhile is not
// acknowledged in place of the next one.
func TestQueueAckAfterDrop(t *testing.T) {
	q, _ := openQueue(filepath.Join(t.TempDir(), "f.queue"), 1<<20, 2)
	defer q.close()
	q.Append([]byte("a"))
	q.Append([]byte("b"))
	_, tk, _, _ := q.Peek() // a, being sent
	q.Append([]byte("c"))   // drops a
	q.Ack(tk)               // a's answer: must not remove b
	if got := fmt.Sprint(drain(t, q)); got != "[b c]" {
		t.Errorf("kept %s", got)
	}
}

// A write cut short by a crash is cut off on opening; a damaged record
// ends the readable part and says so.
func TestQueueDamagedTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.queue")
	q, _ := openQueue(path, 1<<20, 100)
	q.Append([]byte("whole"))
	q.Append([]byte("second"))
	q.close()
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-3], 0o600)
	q, err := openQueue(path, 1<<20, 100)
	if err != nil {
		t.Fatalf("torn tail: %v", err)
	}
	if got := fmt.Sprint(drain(t, q)); got != "[whole]" {
		t.Errorf("torn tail: kept %s", got)
	}
	q.Append([]byte("after"))
	q.Append([]byte("later"))
	q.close()

	b, _ = os.ReadFile(path)
	b[recordHeader] ^= 0xff // the first payload's first byte
	os.WriteFile(path, b, 0o600)
	q, err = openQueue(path, 1<<20, 100)
	if !errors.Is(err, ErrRecordChecksum) || q == nil {
		t.Fatalf("damaged record: %v", err)
	}
	defer q.close()
	if q.Len() != 0 {
		t.Errorf("damaged queue has %d records", q.Len())
	}
}

// The offset file compacts: a long-lived queue that is read as fast as it
// is written does not grow.
func TestQueueCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.queue")
	q, _ := openQueue(path, 64<<20, 1<<20)
	defer q.close()
	big := make([]byte, 60<<10)
	q.Append([]byte("kept-first"))
	for range 40 {
		q.Append(big)
	}
	_, tk, _, _ := q.Peek()
	q.Ack(tk)
	for range 30 {
		_, tk, _, _ := q.Peek()
		q.Ack(tk)
	}
	st, _ := os.Stat(path)
	// Compaction starts once a megabyte has been read and is more than
	// half the file: here after the 21st record, leaving 20.
	if st.Size() > 20*int64(len(big)+recordHeader) {
		t.Errorf("queue file %d bytes for 10 unread records (41 written)", st.Size())
	}
	if q.Len() != 10 {
		t.Errorf("%d unread", q.Len())
	}
	q.close()
	q, _ = openQueue(path, 64<<20, 1<<20)
	if q.Len() != 10 {
		t.Errorf("after reopening: %d unread", q.Len())
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord([]byte(`{"status":"Start","user":"apupil","ip":"10.0.0.5"}`)))
	f.Add(encodeRecord(nil))
	f.Add([]byte{0, 0, 0, 5, 1, 2, 3, 4, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := decodeRecord(b)
		if err != nil {
			if p != nil || n != 0 {
				t.Fatalf("error %v with payload", err)
			}
			return
		}
		if n != recordHeader+len(p) || n > len(b) {
			t.Fatalf("size %d for %d bytes of payload in %d", n, len(p), len(b))
		}
		if string(encodeRecord(p)) != string(b[:n]) {
			t.Fatal("re-encoding differs")
		}
		if e, err := decodeEvent(p); err == nil && e.Status == "" {
			t.Fatal("event without status accepted")
		}
	})
}

// A queue whose file fails under it is emptied, its records counted as
// dropped, and it takes new records again.
func TestQueueDiscard(t *testing.T) {
	q, _ := openQueue(filepath.Join(t.TempDir(), "f.queue"), 1<<20, 100)
	defer q.close()
	q.Append([]byte("a"))
	q.Append([]byte("b"))
	if n, err := q.discard(); n != 2 || err != nil || q.Dropped() != 2 || q.Len() != 0 {
		t.Fatalf("discard = %d %v; dropped %d, len %d", n, err, q.Dropped(), q.Len())
	}
	q.Append([]byte("c"))
	if got := fmt.Sprint(drain(t, q)); got != "[c]" {
		t.Errorf("after discard: %s", got)
	}
}
