package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

const (
	magic     = "HXQ1"
	headerLen = 12
	itemExt   = ".rec"
	tmpExt    = ".tmp"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("queue closed")

// Item is one queued record.
type Item struct {
	ID   uint64
	Data []byte
}

// Queue is a durable FIFO. Put may be called from many goroutines; Peek and
// Remove are meant for one consumer.
type Queue struct {
	dir string
	max int

	mu      sync.Mutex
	ids     []uint64
	next    uint64
	dropped uint64
	corrupt uint64
	closed  bool
	ready   chan struct{}
}

// Open opens (creating when needed) the queue in dir, holding at most max
// records; when full, Put discards the oldest record, because a report that
// old is the least likely to still be valid on chain.
func Open(dir string, max int) (*Queue, error) {
	if max < 1 {
		return nil, fmt.Errorf("queue %s: size limit %d must be at least 1", dir, max)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create queue directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read queue directory: %w", err)
	}
	q := &Queue{dir: dir, max: max, ready: make(chan struct{}, 1), next: 1}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			// A Put that never reached its rename: the caller was never told
			// the record was stored.
			os.Remove(filepath.Join(dir, name))
		case strings.HasSuffix(name, itemExt):
			id, err := strconv.ParseUint(strings.TrimSuffix(name, itemExt), 10, 64)
			if err != nil {
				continue
			}
			q.ids = append(q.ids, id)
			if id >= q.next {
				q.next = id + 1
			}
		}
	}
	sort.Slice(q.ids, func(i, j int) bool { return q.ids[i] < q.ids[j] })
	if len(q.ids) > 0 {
		q.ready <- struct{}{}
	}
	return q, nil
}

func (q *Queue) path(id uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", id, itemExt))
}

// Put stores data durably.
func (q *Queue) Put(data []byte) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	id := q.next
	q.next++
	q.mu.Unlock()

	if err := writeRecord(q.dir, q.path(id), data); err != nil {
		return err
	}

	q.mu.Lock()
	var drop []uint64
	// Insert in order: concurrent Puts may finish out of order.
	i := sort.Search(len(q.ids), func(i int) bool { return q.ids[i] >= id })
	q.ids = append(q.ids, 0)
	copy(q.ids[i+1:], q.ids[i:])
	q.ids[i] = id
	for len(q.ids) > q.max {
		drop = append(drop, q.ids[0])
		q.ids = q.ids[1:]
		q.dropped++
	}
	q.mu.Unlock()
	for _, d := range drop {
		os.Remove(q.path(d))
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return nil
}

func writeRecord(dir, path string, data []byte) error {
	buf := make([]byte, headerLen+len(data))
	copy(buf, magic)
	binary.BigEndian.PutUint32(buf[4:], uint32(len(data)))
	binary.BigEndian.PutUint32(buf[8:], crc32.Checksum(data, castagnoli))
	copy(buf[headerLen:], data)
	if err := WriteFileSync(path, buf, 0o600); err != nil {
		return fmt.Errorf("queue record: %w", err)
	}
	return nil
}

// WriteFileSync atomically replaces path with data: a temporary file is
// written and fsynced, renamed over path, and the directory fsynced.
func WriteFileSync(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*"+tmpExt)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so renames and removals in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Peek returns the oldest record without removing it. Records that fail
// their checksum are discarded (counted in Corrupt) and skipped.
func (q *Queue) Peek() (Item, bool, error) {
	for {
		q.mu.Lock()
		if len(q.ids) == 0 {
			q.mu.Unlock()
			return Item{}, false, nil
		}
		id := q.ids[0]
		q.mu.Unlock()
		b, err := os.ReadFile(q.path(id))
		if errors.Is(err, fs.ErrNotExist) {
			// Dropped by a concurrent Put that overflowed the queue.
			q.forget(id)
			continue
		}
		if err != nil {
			return Item{}, false, fmt.Errorf("read queue record: %w", err)
		}
		data, ok := decodeRecord(b)
		if !ok {
			q.mu.Lock()
			q.corrupt++
			q.mu.Unlock()
			if err := q.Remove(id); err != nil {
				return Item{}, false, err
			}
			continue
		}
		return Item{ID: id, Data: data}, true, nil
	}
}

func decodeRecord(b []byte) ([]byte, bool) {
	if len(b) < headerLen || string(b[:4]) != magic {
		return nil, false
	}
	n := binary.BigEndian.Uint32(b[4:])
	if uint64(n) != uint64(len(b)-headerLen) {
		return nil, false
	}
	data := b[headerLen:]
	return data, crc32.Checksum(data, castagnoli) == binary.BigEndian.Uint32(b[8:])
}

func (q *Queue) forget(id uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.ids {
		if x == id {
			q.ids = append(q.ids[:i], q.ids[i+1:]...)
			return
		}
	}
}

// Remove deletes a record after its peer accepted it.
func (q *Queue) Remove(id uint64) error {
	q.forget(id)
	if err := os.Remove(q.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove queue record: %w", err)
	}
	return SyncDir(q.dir)
}

// Len is the number of queued records.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ids)
}

// Dropped counts records discarded because the queue was full.
func (q *Queue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Corrupt counts records discarded because their checksum failed.
func (q *Queue) Corrupt() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.corrupt
}

// Ready is signalled (without blocking) after every Put and at Open when
// records are waiting.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Close refuses further Puts. Stored records stay on disk.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
