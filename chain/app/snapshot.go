package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/state"
)

// Snapshot format 1: the committed state as chunks of
// (uvarint len, key, uvarint len, value) records in key order, each chunk
// at most snapshotChunkSize bytes. Snapshot.Hash is SHA-256 over the
// chunks' SHA-256 hashes; Metadata lists the chunk hashes so every chunk is
// checked on arrival, and the restored state must hash to the trusted app
// hash before it is accepted.
const (
	snapshotFormat    = 1
	snapshotChunkSize = 4 << 20
)

type snapshotMeta struct {
	Height  uint64   `json:"height"`
	AppHash []byte   `json:"app_hash"`
	Chunks  [][]byte `json:"chunks"`
}

type snapshots struct {
	dir  string
	keep int

	// restore in progress
	restoring *abcitypes.Snapshot
	meta      snapshotMeta
	appHash   []byte
	next      uint32
}

func openSnapshots(dir string, keep int) (*snapshots, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create snapshot directory: %w", err)
	}
	return &snapshots{dir: dir, keep: keep}, nil
}

func (s *snapshots) take(st *state.Store) error {
	h := uint64(st.Height())
	tmp := filepath.Join(s.dir, fmt.Sprintf(".tmp-%d", h))
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	meta := snapshotMeta{Height: h, AppHash: st.AppHash()}
	var buf []byte
	var werr error
	flush := func() {
		if werr != nil {
			return
		}
		sum := sha256.Sum256(buf)
		meta.Chunks = append(meta.Chunks, sum[:])
		werr = os.WriteFile(filepath.Join(tmp, strconv.Itoa(len(meta.Chunks)-1)), buf, 0o644)
		buf = buf[:0]
	}
	st.Iterate(nil, func(k, v []byte) bool {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
		if len(buf) >= snapshotChunkSize {
			flush()
		}
		return werr == nil
	})
	if len(buf) > 0 || len(meta.Chunks) == 0 {
		flush()
	}
	if werr != nil {
		return werr
	}
	mb, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), mb, 0o644); err != nil {
		return err
	}
	final := filepath.Join(s.dir, strconv.FormatUint(h, 10))
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	hs := s.heights()
	for len(hs) > s.keep {
		os.RemoveAll(filepath.Join(s.dir, strconv.FormatUint(hs[0], 10)))
		hs = hs[1:]
	}
	return nil
}

func (s *snapshots) heights() []uint64 {
	ents, _ := os.ReadDir(s.dir)
	var hs []uint64
	for _, e := range ents {
		if h, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	return hs
}

func (s *snapshots) load(h uint64) (*snapshotMeta, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, strconv.FormatUint(h, 10), "meta.json"))
	if err != nil {
		return nil, err
	}
	var m snapshotMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *snapshotMeta) hash() []byte {
	h := sha256.New()
	for _, c := range m.Chunks {
		h.Write(c)
	}
	return h.Sum(nil)
}

// ListSnapshots implements abcitypes.Application.
func (a *App) ListSnapshots(_ context.Context, _ *abcitypes.RequestListSnapshots) (*abcitypes.ResponseListSnapshots, error) {
	resp := &abcitypes.ResponseListSnapshots{}
	if a.snaps == nil {
		return resp, nil
	}
	for _, h := range a.snaps.heights() {
		m, err := a.snaps.load(h)
		if err != nil {
			continue
		}
		mb, _ := json.Marshal(m)
		resp.Snapshots = append(resp.Snapshots, &abcitypes.Snapshot{Height: h, Format: snapshotFormat, Chunks: uint32(len(m.Chunks)), Hash: m.hash(), Metadata: mb})
	}
	return resp, nil
}

// LoadSnapshotChunk implements abcitypes.Application.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abcitypes.RequestLoadSnapshotChunk) (*abcitypes.ResponseLoadSnapshotChunk, error) {
	if a.snaps == nil || req.Format != snapshotFormat {
		return &abcitypes.ResponseLoadSnapshotChunk{}, nil
	}
	b, err := os.ReadFile(filepath.Join(a.snaps.dir, strconv.FormatUint(req.Height, 10), strconv.FormatUint(uint64(req.Chunk), 10)))
	if err != nil {
		return &abcitypes.ResponseLoadSnapshotChunk{}, nil
	}
	return &abcitypes.ResponseLoadSnapshotChunk{Chunk: b}, nil
}

// OfferSnapshot implements abcitypes.Application.
func (a *App) OfferSnapshot(_ context.Context, req *abcitypes.RequestOfferSnapshot) (*abcitypes.ResponseOfferSnapshot, error) {
	if a.snaps == nil || req.Snapshot == nil {
		return &abcitypes.ResponseOfferSnapshot{Result: abcitypes.ResponseOfferSnapshot_ABORT}, nil
	}
	if req.Snapshot.Format != snapshotFormat {
		return &abcitypes.ResponseOfferSnapshot{Result: abcitypes.ResponseOfferSnapshot_REJECT_FORMAT}, nil
	}
	var m snapshotMeta
	if err := json.Unmarshal(req.Snapshot.Metadata, &m); err != nil || len(m.Chunks) != int(req.Snapshot.Chunks) || string(m.hash()) != string(req.Snapshot.Hash) {
		return &abcitypes.ResponseOfferSnapshot{Result: abcitypes.ResponseOfferSnapshot_REJECT}, nil
	}
	if a.store.Height() != 0 {
		return &abcitypes.ResponseOfferSnapshot{Result: abcitypes.ResponseOfferSnapshot_ABORT}, nil
	}
	a.snaps.restoring, a.snaps.meta, a.snaps.appHash, a.snaps.next = req.Snapshot, m, req.AppHash, 0
	return &abcitypes.ResponseOfferSnapshot{Result: abcitypes.ResponseOfferSnapshot_ACCEPT}, nil
}

// ApplySnapshotChunk implements abcitypes.Application.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abcitypes.RequestApplySnapshotChunk) (*abcitypes.ResponseApplySnapshotChunk, error) {
	s := a.snaps
	if s == nil || s.restoring == nil {
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_ABORT}, nil
	}
	if req.Index != s.next || int(req.Index) >= len(s.meta.Chunks) {
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{s.next}}, nil
	}
	if sum := sha256.Sum256(req.Chunk); string(sum[:]) != string(s.meta.Chunks[req.Index]) {
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{req.Index}, RejectSenders: []string{req.Sender}}, nil
	}
	pairs, err := decodeChunk(req.Chunk)
	if err != nil {
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	}
	if err := a.store.Import(pairs); err != nil {
		return nil, err
	}
	s.next++
	if int(s.next) == len(s.meta.Chunks) {
		err := a.store.FinishImport(int64(s.restoring.Height), s.appHash)
		s.restoring = nil
		if err != nil {
			a.log.Error("state sync: restored state does not match the app hash", "err", err)
			if werr := a.store.Wipe(); werr != nil {
				return nil, werr
			}
			return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
		}
		a.chainID = string(a.store.Get(keyChainID))
		a.checkState = state.NewCache(a.store)
	}
	return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_ACCEPT}, nil
}

func decodeChunk(b []byte) ([][2][]byte, error) {
	var out [][2][]byte
	for len(b) > 0 {
		var kv [2][]byte
		for i := range kv {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return nil, errors.New("corrupt snapshot chunk")
			}
			kv[i] = slices.Clone(b[w : w+int(n)])
			b = b[w+int(n):]
		}
		out = append(out, kv)
	}
	return out, nil
}
