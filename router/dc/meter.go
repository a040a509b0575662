package dc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// ErrNoCredit is returned when a purchase would overdraw an OUI's escrow.
var ErrNoCredit = errors.New("no_dc")

// ErrUnknownOUI is returned for an OUI whose escrow is not known yet.
var ErrUnknownOUI = errors.New("unknown_oui")

// Key identifies one voucher: an OUI, a hotspot and an epoch.
type Key struct {
	OUI     uint64
	Hotspot [32]byte
	Epoch   uint64
}

// Counter is the cumulative amount a voucher promises.
type Counter struct {
	Key
	DC      uint64
	Packets uint64
	// Paid is what the chain has paid on this voucher (its claims), as last
	// seen; not persisted (the chain is the truth).
	Paid uint64 `json:"-"`
}

type ouiBook struct {
	known    bool
	escrow   uint64 // from the chain
	promised uint64 // cumulative, persisted
	// outstanding is the sum over counters of DC - Paid: promised but not
	// yet taken from the escrow by a claim.
	outstanding uint64
}

// Meter is the DC ledger and voucher counter store. Safe for concurrent use.
type Meter struct {
	path string

	mu       sync.Mutex
	books    map[uint64]*ouiBook
	counters map[Key]*Counter
	dirty    map[Key]struct{}
	// persisted are the counters as last written to the file: the only
	// values that may be signed.
	persisted map[Key]Counter
	// keepEpochs counters older than the newest epoch minus keepEpochs are
	// pruned from the file (they can never be signed again: the router
	// only buys in the current epoch).
	keepEpochs uint64
	maxEpoch   uint64

	writeMu sync.Mutex // serialises file writes
}

// Open loads the counters persisted at path (a missing file is an empty
// store) and returns a Meter that persists there.
func Open(path string) (*Meter, error) {
	m := &Meter{path: path, books: map[uint64]*ouiBook{}, counters: map[Key]*Counter{}, dirty: map[Key]struct{}{}, persisted: map[Key]Counter{}, keepEpochs: 4}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read voucher counters: %w", err)
	}
	var f fileV1
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse voucher counters %s: %w (restore it from a backup; starting empty could sign vouchers below ones already signed)", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("voucher counters %s: version %d, this router reads version 1", path, f.Version)
	}
	for _, o := range f.OUIs {
		m.books[o.OUI] = &ouiBook{promised: o.Promised}
	}
	defer func() {
		// Until the chain says otherwise every loaded voucher is unpaid.
		for k, c := range m.counters {
			m.book(k.OUI).outstanding += c.DC
		}
	}()
	for _, c := range f.Counters {
		h, err := hex.DecodeString(c.Hotspot)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("voucher counters %s: bad hotspot %q", path, c.Hotspot)
		}
		k := Key{OUI: c.OUI, Epoch: c.Epoch}
		copy(k.Hotspot[:], h)
		m.counters[k] = &Counter{Key: k, DC: c.DC, Packets: c.Packets}
		m.persisted[k] = *m.counters[k]
		m.maxEpoch = max(m.maxEpoch, c.Epoch)
	}
	return m, nil
}

type fileV1 struct {
	Version  int           `json:"version"`
	OUIs     []fileOUI     `json:"ouis"`
	Counters []fileCounter `json:"counters"`
}

type fileOUI struct {
	OUI      uint64 `json:"oui"`
	Promised uint64 `json:"promised_dc"`
}

type fileCounter struct {
	OUI     uint64 `json:"oui"`
	Hotspot string `json:"hotspot"`
	Epoch   uint64 `json:"epoch"`
	DC      uint64 `json:"dc"`
	Packets uint64 `json:"packets"`
}

// SetEscrow records an OUI's escrow as the chain reports it. Available
// credit is the escrow minus what this router promised and the chain has
// not paid yet.
func (m *Meter) SetEscrow(oui, escrow uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.book(oui)
	b.known, b.escrow = true, escrow
}

// SetPaid records what the chain has paid on a voucher (the hotspot's
// claims). Values only grow; a smaller one is ignored.
func (m *Meter) SetPaid(k Key, paid uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[k]
	if c == nil {
		return
	}
	paid = min(paid, c.DC)
	if paid <= c.Paid {
		return
	}
	b := m.book(k.OUI)
	b.outstanding -= min(b.outstanding, paid-c.Paid)
	c.Paid = paid
}

// Unsettled returns up to limit counters the chain has not fully paid, to
// ask the chain about their claims.
func (m *Meter) Unsettled(limit int) []Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Counter
	for _, c := range m.counters {
		if len(out) >= limit {
			break
		}
		if c.Paid < c.DC {
			out = append(out, *c)
		}
	}
	return out
}

func (m *Meter) book(oui uint64) *ouiBook {
	b := m.books[oui]
	if b == nil {
		b = &ouiBook{}
		m.books[oui] = b
	}
	return b
}

func (b *ouiBook) available() uint64 {
	if b.outstanding >= b.escrow {
		return 0
	}
	return b.escrow - b.outstanding
}

// Buy charges cost to k's OUI and counts one packet on k's voucher. It
// returns ErrNoCredit, and changes nothing, when the OUI can't pay.
func (m *Meter) Buy(k Key, cost uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.books[k.OUI]
	if b == nil || !b.known {
		return ErrUnknownOUI
	}
	if cost > 0 && b.available() < cost {
		return ErrNoCredit
	}
	b.promised += cost
	b.outstanding += cost
	c := m.counters[k]
	if c == nil {
		c = &Counter{Key: k}
		m.counters[k] = c
	}
	c.DC += cost
	c.Packets++
	m.dirty[k] = struct{}{}
	m.maxEpoch = max(m.maxEpoch, k.Epoch)
	return nil
}

// MaxEpoch is the newest epoch of any counter: the router refuses to buy in
// an older one (a chain view that went back in time).
func (m *Meter) MaxEpoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxEpoch
}

// Available returns the credit an OUI has left for this router.
func (m *Meter) Available(oui uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.books[oui]; b != nil && b.known {
		return b.available()
	}
	return 0
}

// Promised returns the DC this router has promised from an OUI, ever.
func (m *Meter) Promised(oui uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.books[oui]; b != nil {
		return b.promised
	}
	return 0
}

// Get returns a counter.
func (m *Meter) Get(k Key) (Counter, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.counters[k]
	if !ok {
		return Counter{}, false
	}
	return *c, true
}

// Persisted returns a hotspot's persisted counters of the newest two
// epochs, to resend their vouchers when it reconnects.
func (m *Meter) Persisted(hotspot [32]byte) []Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Counter
	for k, c := range m.persisted {
		if k.Hotspot == hotspot && k.Epoch+1 >= m.maxEpoch {
			out = append(out, c)
		}
	}
	sortCounters(out)
	return out
}

func sortCounters(cs []Counter) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.OUI != b.OUI {
			return a.OUI < b.OUI
		}
		if a.Epoch != b.Epoch {
			return a.Epoch < b.Epoch
		}
		return string(a.Hotspot[:]) < string(b.Hotspot[:])
	})
}

// Flush persists every counter and returns those changed since the last
// Flush: the caller signs and sends their vouchers only after Flush
// returned without error.
func (m *Meter) Flush() ([]Counter, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()

	m.mu.Lock()
	f := fileV1{Version: 1}
	oldest := uint64(0)
	if m.maxEpoch > m.keepEpochs {
		oldest = m.maxEpoch - m.keepEpochs
	}
	for k, c := range m.counters {
		if k.Epoch < oldest {
			// Old enough that its claim is settled or abandoned.
			b := m.book(k.OUI)
			b.outstanding -= min(b.outstanding, c.DC-c.Paid)
			delete(m.counters, k)
			continue
		}
		f.Counters = append(f.Counters, fileCounter{OUI: k.OUI, Hotspot: hex.EncodeToString(k.Hotspot[:]), Epoch: k.Epoch, DC: c.DC, Packets: c.Packets})
	}
	for id, b := range m.books {
		f.OUIs = append(f.OUIs, fileOUI{OUI: id, Promised: b.promised})
	}
	changed := make([]Counter, 0, len(m.dirty))
	for k := range m.dirty {
		if c, ok := m.counters[k]; ok {
			changed = append(changed, *c)
		}
	}
	dirty := m.dirty
	m.dirty = map[Key]struct{}{}
	m.mu.Unlock()

	sort.Slice(f.OUIs, func(i, j int) bool { return f.OUIs[i].OUI < f.OUIs[j].OUI })
	sort.Slice(f.Counters, func(i, j int) bool {
		a, b := f.Counters[i], f.Counters[j]
		if a.Epoch != b.Epoch {
			return a.Epoch < b.Epoch
		}
		if a.OUI != b.OUI {
			return a.OUI < b.OUI
		}
		return a.Hotspot < b.Hotspot
	})
	snapshot := make(map[Key]Counter, len(f.Counters))
	for _, fc := range f.Counters {
		var k Key
		k.OUI, k.Epoch = fc.OUI, fc.Epoch
		h, _ := hex.DecodeString(fc.Hotspot)
		copy(k.Hotspot[:], h)
		snapshot[k] = Counter{Key: k, DC: fc.DC, Packets: fc.Packets}
	}
	if err := writeAtomic(m.path, f); err != nil {
		// Keep them dirty: the next Flush retries, and nothing unpersisted
		// gets signed.
		m.mu.Lock()
		for k := range dirty {
			m.dirty[k] = struct{}{}
		}
		m.mu.Unlock()
		return nil, err
	}
	m.mu.Lock()
	m.persisted = snapshot
	m.mu.Unlock()
	// changed was read under the same lock as the file contents, so every
	// value in it is persisted.
	sortCounters(changed)
	return changed, nil
}

func writeAtomic(path string, f fileV1) error {
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("persist voucher counters: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("persist voucher counters: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("persist voucher counters: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist voucher counters: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("persist voucher counters: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("persist voucher counters: open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("persist voucher counters: sync directory: %w", err)
	}
	return nil
}
