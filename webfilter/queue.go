package webfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
)

// A queue file is a sequence of records, each framed as
//
//	length (4 bytes, big-endian) | CRC-32C of the payload (4 bytes) | payload
//
// appended at the end and read from a persisted offset, kept in a file of
// its own beside it. Nothing is rewritten in place except that offset;
// when the part already read grows past half the file, the unread rest is
// copied to a new file that replaces the old one.

const (
	recordHeader = 8
	// MaxRecord bounds one payload: an event is a few hundred bytes.
	MaxRecord = 64 << 10
)

// Sentinels of decodeRecord: one per way a record can be malformed.
var (
	// ErrShortRecord is a record cut off at the end of the file (a write
	// that a crash interrupted).
	ErrShortRecord = errors.New("queue record: cut short")
	// ErrRecordTooLong is a length beyond MaxRecord.
	ErrRecordTooLong = errors.New("queue record: longer than allowed")
	// ErrRecordChecksum is a payload that does not match its checksum.
	ErrRecordChecksum = errors.New("queue record: checksum mismatch")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord frames a payload.
func encodeRecord(payload []byte) []byte {
	b := make([]byte, recordHeader+len(payload))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[4:8], crc32.Checksum(payload, castagnoli))
	copy(b[recordHeader:], payload)
	return b
}

// decodeRecord reads the record at the start of b and returns its payload
// (a slice of b) and the bytes it takes.
func decodeRecord(b []byte) (payload []byte, size int, err error) {
	if len(b) < recordHeader {
		return nil, 0, ErrShortRecord
	}
	n := binary.BigEndian.Uint32(b[0:4])
	if n > MaxRecord {
		return nil, 0, ErrRecordTooLong
	}
	if len(b)-recordHeader < int(n) {
		return nil, 0, ErrShortRecord
	}
	payload = b[recordHeader : recordHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[4:8]) {
		return nil, 0, ErrRecordChecksum
	}
	return payload, recordHeader + int(n), nil
}

// queue is one receiver's bounded on-disk queue. Appends never wait on the
// receiver: when the unread records would pass maxBytes or maxRecords, the
// oldest are dropped (and counted) to make room.
type queue struct {
	mu         sync.Mutex
	path       string
	f          *os.File // the records, opened for reading and appending
	offFile    *os.File // the read offset, 8 bytes
	off        int64    // where the next unread record starts
	size       int64    // where the next record will be appended
	records    int      // unread records
	gen        uint64   // bumped when offsets change meaning (compaction, drops)
	maxBytes   int64
	maxRecords int
	dropped    uint64
	ready      chan struct{} // a record was appended
}

// ticket names the record Peek returned, for Ack.
type ticket struct {
	gen      uint64
	off, end int64
}

// openQueue opens (or creates, 0600) the queue at path and path+".offset".
// A record cut short at the end (a crash mid-write) is cut off; a record
// that fails its checksum ends the readable part, and what follows is cut
// off too, with an error saying how much was lost.
func openQueue(path string, maxBytes int64, maxRecords int) (*queue, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("web filter queue: %w", err)
	}
	of, err := os.OpenFile(path+".offset", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("web filter queue: %w", err)
	}
	q := &queue{path: path, f: f, offFile: of, maxBytes: maxBytes, maxRecords: maxRecords, ready: make(chan struct{}, 1)}
	var ob [8]byte
	if n, _ := of.ReadAt(ob[:], 0); n == 8 {
		q.off = int64(binary.BigEndian.Uint64(ob[:]))
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		q.close()
		return nil, fmt.Errorf("web filter queue %s: %w", path, err)
	}
	if q.off > int64(len(data)) {
		q.off = int64(len(data))
	}
	var lost error
	pos := q.off
	for pos < int64(len(data)) {
		_, n, err := decodeRecord(data[pos:])
		if err != nil {
			if !errors.Is(err, ErrShortRecord) {
				lost = fmt.Errorf("web filter queue %s: %w at byte %d; %d bytes after it were left out", path, err, pos, int64(len(data))-pos)
			}
			break
		}
		pos += int64(n)
		q.records++
	}
	if pos < int64(len(data)) {
		if err := f.Truncate(pos); err != nil {
			q.close()
			return nil, fmt.Errorf("web filter queue %s: %w", path, err)
		}
	}
	q.size = pos
	if err := q.saveOffset(); err != nil {
		q.close()
		return nil, err
	}
	if q.records > 0 {
		q.ready <- struct{}{}
	}
	return q, lost
}

func (q *queue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.f.Close()
	if e := q.offFile.Close(); err == nil {
		err = e
	}
	return err
}

func (q *queue) saveOffset() error {
	var ob [8]byte
	binary.BigEndian.PutUint64(ob[:], uint64(q.off))
	if _, err := q.offFile.WriteAt(ob[:], 0); err != nil {
		return fmt.Errorf("web filter queue %s: saving the read offset: %w", q.path, err)
	}
	return nil
}

// Append adds a record at the end, dropping the oldest unread records
// first when the queue would otherwise pass its bounds; it returns how
// many were dropped.
func (q *queue) Append(payload []byte) (dropped int, err error) {
	if len(payload) > MaxRecord {
		return 0, ErrRecordTooLong
	}
	rec := encodeRecord(payload)
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.records > 0 && (q.size-q.off+int64(len(rec)) > q.maxBytes || q.records+1 > q.maxRecords) {
		if err := q.dropOldest(); err != nil {
			return dropped, err
		}
		dropped++
	}
	if dropped > 0 {
		q.gen++
		if err := q.saveOffset(); err != nil {
			return dropped, err
		}
	}
	if _, err := q.f.WriteAt(rec, q.size); err != nil {
		return dropped, fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	q.size += int64(len(rec))
	q.records++
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped, nil
}

// dropOldest moves the read offset past the oldest unread record.
func (q *queue) dropOldest() error {
	var h [recordHeader]byte
	if _, err := q.f.ReadAt(h[:], q.off); err != nil {
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	q.off += recordHeader + int64(binary.BigEndian.Uint32(h[0:4]))
	q.records--
	q.dropped++
	return nil
}

// Peek returns the oldest unread record without removing it; ok is false
// when there is none.
func (q *queue) Peek() (payload []byte, t ticket, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.records == 0 {
		return nil, ticket{}, false, nil
	}
	var h [recordHeader]byte
	if _, err := q.f.ReadAt(h[:], q.off); err != nil {
		return nil, ticket{}, false, fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	n := int(binary.BigEndian.Uint32(h[0:4]))
	if n > MaxRecord {
		return nil, ticket{}, false, ErrRecordTooLong
	}
	b := make([]byte, recordHeader+n)
	if _, err := q.f.ReadAt(b, q.off); err != nil {
		return nil, ticket{}, false, fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	payload, size, err := decodeRecord(b)
	t = ticket{gen: q.gen, off: q.off, end: q.off + int64(size)}
	if err != nil {
		return nil, t, false, err
	}
	return payload, t, true, nil
}

// Ack removes the record Peek returned, unless it was dropped meanwhile.
func (q *queue) Ack(t ticket) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.gen != q.gen || t.off != q.off {
		return nil
	}
	q.off = t.end
	q.records--
	if q.records == 0 {
		// Emptied: start the file again. Truncated before the offset is
		// saved, so that a crash between the two finds an offset past
		// the end, which opening takes as the end.
		if err := q.f.Truncate(0); err != nil {
			return fmt.Errorf("web filter queue %s: %w", q.path, err)
		}
		q.off, q.size = 0, 0
		q.gen++
		return q.saveOffset()
	}
	if q.off > 1<<20 && q.off > q.size/2 {
		return q.compact()
	}
	return q.saveOffset()
}

// compact copies the unread records to a new file that replaces the old,
// so that the file does not grow for ever.
func (q *queue) compact() error {
	rest := make([]byte, q.size-q.off)
	if _, err := q.f.ReadAt(rest, q.off); err != nil {
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	tmp := q.path + ".tmp"
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	if _, err := nf.Write(rest); err != nil {
		nf.Close()
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	if err := nf.Sync(); err != nil {
		nf.Close()
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	// The offset is zeroed before the rename: a crash between the two
	// reads the old file from its start again, and a receiver hears a
	// few events twice (which a Start or Stop survives), rather than
	// the new file from a stale offset, which would lose some.
	q.off = 0
	if err := q.saveOffset(); err != nil {
		nf.Close()
		return err
	}
	if err := os.Rename(tmp, q.path); err != nil {
		nf.Close()
		return fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	q.f.Close()
	q.f = nf
	q.size = int64(len(rest))
	q.gen++
	return nil
}

// discard gives up the unread records (the file can no longer be read)
// and says how many there were.
func (q *queue) discard() (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.records
	q.dropped += uint64(n)
	q.records, q.off, q.size = 0, 0, 0
	q.gen++
	if err := q.f.Truncate(0); err != nil {
		return n, fmt.Errorf("web filter queue %s: %w", q.path, err)
	}
	return n, q.saveOffset()
}

// Len is the number of unread records.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.records
}

// Dropped is how many records were dropped to make room, since opening.
func (q *queue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
