package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"
)

// Reader reads state.
type Reader interface {
	// Get returns the value of key, or nil when absent.
	Get(key []byte) []byte
	// Iterate calls fn for every key with prefix in ascending key order
	// until fn returns false.
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Writer changes state.
type Writer interface {
	Reader
	Set(key, value []byte)
	Delete(key []byte)
}

// Database keys. State keys live under "s/"; the rest is bookkeeping.
var (
	statePrefix = []byte("s/")
	metaHeight  = []byte("m/height")
	metaAppHash = []byte("m/app_hash")
	metaLtHash  = []byte("m/lthash")
)

// Store is the committed state on disk.
//
// Everything but Height and AppHash must be called from one goroutine at a
// time (the ABCI connection's). Height and AppHash may be called from any
// goroutine (logs, metrics, RPC handlers): the committed {height, app hash}
// pair is published atomically after the batch is on disk.
type Store struct {
	db        dbm.DB
	committed atomic.Pointer[commitInfo]
	lt        LtHash

	pending *staged
}

// commitInfo is immutable once published.
type commitInfo struct {
	height  int64
	appHash []byte
}

type staged struct {
	height  int64
	appHash []byte
	lt      LtHash
	keys    []string
	values  map[string][]byte // nil value: delete
}

// Open loads the committed state of db.
func Open(db dbm.DB) (*Store, error) {
	s := &Store{db: db}
	s.committed.Store(&commitInfo{})
	hb, err := db.Get(metaHeight)
	if err != nil {
		return nil, fmt.Errorf("read state height: %w", err)
	}
	if hb != nil {
		if len(hb) != 8 {
			return nil, errors.New("read state height: corrupt value")
		}
		appHash, err := db.Get(metaAppHash)
		if err != nil {
			return nil, fmt.Errorf("read app hash: %w", err)
		}
		s.committed.Store(&commitInfo{height: int64(binary.BigEndian.Uint64(hb)), appHash: appHash})
		lb, err := db.Get(metaLtHash)
		if err != nil {
			return nil, fmt.Errorf("read state hash: %w", err)
		}
		var ok bool
		if s.lt, ok = ltFromBytes(lb); !ok {
			return nil, errors.New("read state hash: corrupt value")
		}
	}
	return s, nil
}

// Height is the last committed height (0 before the first block). It is
// safe to call from any goroutine.
func (s *Store) Height() int64 { return s.committed.Load().height }

// AppHash is the app hash of the last committed state. It is safe to call
// from any goroutine.
func (s *Store) AppHash() []byte { return slices.Clone(s.committed.Load().appHash) }

// Committed returns the last committed height and its app hash, read
// together (a consistent pair). It is safe to call from any goroutine.
func (s *Store) Committed() (height int64, appHash []byte) {
	c := s.committed.Load()
	return c.height, slices.Clone(c.appHash)
}

// EmptyAppHash is the app hash of an empty state.
func EmptyAppHash() []byte {
	var l LtHash
	return l.Sum()
}

func stateKey(k []byte) []byte { return append(slices.Clip(statePrefix), k...) }

// Get implements Reader over the committed state.
func (s *Store) Get(key []byte) []byte {
	v, err := s.db.Get(stateKey(key))
	if err != nil {
		// The database failing under consensus is not recoverable.
		panic(fmt.Sprintf("state: read %q: %v", key, err))
	}
	return v
}

// Iterate implements Reader over the committed state.
func (s *Store) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	start := stateKey(prefix)
	it, err := s.db.Iterator(start, prefixEnd(start))
	if err != nil {
		panic(fmt.Sprintf("state: iterate %q: %v", prefix, err))
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key()[len(statePrefix):], it.Value()) {
			return
		}
	}
	if err := it.Error(); err != nil {
		panic(fmt.Sprintf("state: iterate %q: %v", prefix, err))
	}
}

// IterateRange calls fn for the committed keys in [start, end) in order
// until fn returns false.
func (s *Store) IterateRange(start, end []byte, fn func(key, value []byte) bool) {
	it, err := s.db.Iterator(stateKey(start), stateKey(end))
	if err != nil {
		panic(fmt.Sprintf("state: iterate %q..%q: %v", start, end, err))
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key()[len(statePrefix):], it.Value()) {
			return
		}
	}
}

func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Stage computes the state that c's changes produce at height and returns
// its app hash. Nothing is written until Commit; a later Stage replaces the
// staged state.
func (s *Store) Stage(c *Cache, height int64) []byte {
	p := &staged{height: height, lt: s.lt, values: map[string][]byte{}}
	p.keys = c.sortedKeys()
	for _, k := range p.keys {
		nv := c.writes[k]
		old := s.Get([]byte(k))
		if old != nil {
			p.lt.Remove([]byte(k), old)
		}
		if nv.deleted {
			p.values[k] = nil
			continue
		}
		p.lt.Add([]byte(k), nv.value)
		p.values[k] = nv.value
	}
	p.appHash = p.lt.Sum()
	s.pending = p
	return slices.Clone(p.appHash)
}

// Commit atomically writes the staged state and its {height, app hash}.
func (s *Store) Commit() error {
	p := s.pending
	if p == nil {
		return errors.New("commit: nothing staged")
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, k := range p.keys {
		var err error
		if v := p.values[k]; v == nil {
			err = b.Delete(stateKey([]byte(k)))
		} else {
			err = b.Set(stateKey([]byte(k)), v)
		}
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(p.height))
	if err := b.Set(metaHeight, hb[:]); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := b.Set(metaAppHash, p.appHash); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := b.Set(metaLtHash, p.lt.Bytes()); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("commit: write state: %w", err)
	}
	s.lt, s.pending = p.lt, nil
	s.committed.Store(&commitInfo{height: p.height, appHash: p.appHash})
	return nil
}

// Recompute hashes the whole committed state from scratch (for restores and
// checks); it returns the app hash the state should have.
func (s *Store) Recompute() []byte {
	var l LtHash
	s.Iterate(nil, func(k, v []byte) bool {
		l.Add(k, v)
		return true
	})
	return l.Sum()
}

// Cache is an in-memory write layer over a Reader.
type Cache struct {
	parent Reader
	writes map[string]entry
}

type entry struct {
	value   []byte
	deleted bool
}

// NewCache returns an empty cache over parent.
func NewCache(parent Reader) *Cache {
	return &Cache{parent: parent, writes: map[string]entry{}}
}

// Get implements Reader.
func (c *Cache) Get(key []byte) []byte {
	if e, ok := c.writes[string(key)]; ok {
		if e.deleted {
			return nil
		}
		return e.value
	}
	return c.parent.Get(key)
}

// Set implements Writer. The value must not be changed afterwards.
func (c *Cache) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	c.writes[string(key)] = entry{value: value}
}

// Delete implements Writer.
func (c *Cache) Delete(key []byte) { c.writes[string(key)] = entry{deleted: true} }

// Len is the number of keys changed.
func (c *Cache) Len() int { return len(c.writes) }

func (c *Cache) sortedKeys() []string {
	keys := make([]string, 0, len(c.writes))
	for k := range c.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Iterate implements Reader, merging the cache's changes into the
// parent's keys.
func (c *Cache) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	var own []string
	for k := range c.writes {
		if bytes.HasPrefix([]byte(k), prefix) {
			own = append(own, k)
		}
	}
	slices.Sort(own)
	i := 0
	stopped := false
	emitOwnBefore := func(limit []byte) bool {
		for i < len(own) && (limit == nil || own[i] < string(limit)) {
			e := c.writes[own[i]]
			i++
			if !e.deleted && !fn([]byte(own[i-1]), e.value) {
				return false
			}
		}
		return true
	}
	c.parent.Iterate(prefix, func(k, v []byte) bool {
		if !emitOwnBefore(k) {
			stopped = true
			return false
		}
		if i < len(own) && own[i] == string(k) {
			e := c.writes[own[i]]
			i++
			if e.deleted {
				return true
			}
			if !fn(k, e.value) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emitOwnBefore(nil)
	}
}

// Write applies the cache's changes to its parent cache.
func (c *Cache) Write() {
	p, ok := c.parent.(*Cache)
	if !ok {
		panic("state: Write on a cache whose parent is not a cache; use Store.Stage")
	}
	for _, k := range c.sortedKeys() {
		p.writes[k] = c.writes[k]
	}
	c.writes = map[string]entry{}
}

// Discard drops the cache's changes.
func (c *Cache) Discard() { c.writes = map[string]entry{} }

// Import writes raw state pairs (a state-sync restore). The state is not
// usable until FinishImport succeeds.
func (s *Store) Import(pairs [][2][]byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, p := range pairs {
		if err := b.Set(stateKey(p[0]), p[1]); err != nil {
			return fmt.Errorf("import state: %w", err)
		}
	}
	return b.Write()
}

// FinishImport recomputes the hash of the imported state and, when it
// matches wantAppHash, records it as committed at height.
func (s *Store) FinishImport(height int64, wantAppHash []byte) error {
	var l LtHash
	s.Iterate(nil, func(k, v []byte) bool {
		l.Add(k, v)
		return true
	})
	if got := l.Sum(); !bytes.Equal(got, wantAppHash) {
		return fmt.Errorf("imported state hashes to %X, want %X", got, wantAppHash)
	}
	b := s.db.NewBatch()
	defer b.Close()
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(height))
	for _, kv := range [][2][]byte{{metaHeight, hb[:]}, {metaAppHash, l.Sum()}, {metaLtHash, l.Bytes()}} {
		if err := b.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("finish import: %w", err)
	}
	s.lt = l
	s.committed.Store(&commitInfo{height: height, appHash: l.Sum()})
	return nil
}

// Wipe deletes every state key (to abandon a failed restore).
func (s *Store) Wipe() error {
	var keys [][]byte
	s.Iterate(nil, func(k, _ []byte) bool {
		keys = append(keys, slices.Clone(k))
		return true
	})
	b := s.db.NewBatch()
	defer b.Close()
	for _, k := range keys {
		if err := b.Delete(stateKey(k)); err != nil {
			return err
		}
	}
	return b.Write()
}
