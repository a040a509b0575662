package app

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/rewards"
	"github.com/hexproof/hexproof/chain/state"
	"github.com/hexproof/hexproof/internal/identity"
)

// State keys. Numbers are big-endian so keys sort numerically.
var (
	keyChainID    = []byte("chain_id")
	keyParams     = []byte("params")
	keyEconomics  = []byte("economics")
	keyPrice      = []byte("price")
	keySupply     = []byte("supply")
	keyValidators = []byte("validators")
	keyNextOUI    = []byte("next_oui")
)

func kAccount(a identity.Address) []byte     { return cat("acct/", a[:]) }
func kHotspot(a identity.Address) []byte     { return cat("hs/", a[:]) }
func kOwnerIdx(o, h identity.Address) []byte { return cat("hsown/", o[:], h[:]) }
func kCellIdx(cell uint64, h identity.Address) []byte {
	return cat("hscell/", be64(cell), h[:])
}
func kOUI(n uint64) []byte      { return cat("oui/", be64(n)) }
func kBlockHash(h int64) []byte { return cat("bh/", be64(uint64(h))) }
func kBeacon(id []byte) []byte  { return cat("beacon/", id) }

// PoC history per hotspot, newest first: the height is inverted.
func kPocHist(a identity.Address, height int64, id []byte, kind byte) []byte {
	return cat("poch/", a[:], be64(math.MaxUint64-uint64(height)), id, []byte{kind})
}
func kReward(a identity.Address, epoch uint64) []byte { return cat("rew/", a[:], be64(epoch)) }
func kEpoch(epoch uint64) []byte                      { return cat("epoch/", be64(epoch)) }

// kEpochRewardIdx indexes an epoch's hotspot rewards by address (empty
// value; the reward is under kReward).
func kEpochRewardIdx(epoch uint64, h identity.Address) []byte {
	return cat("rewe/", be64(epoch), h[:])
}
func kAccountReward(epoch uint64, kind string, a identity.Address) []byte {
	return cat("arew/", be64(epoch), []byte(kind+"/"), a[:])
}
func kVoucher(oui uint64, h identity.Address, epoch uint64) []byte {
	return cat("voucher/", be64(oui), h[:], be64(epoch))
}

// Epoch activity, consumed and deleted at the epoch end.
func kActBeacon(epoch uint64, id []byte) []byte { return cat("act/b/", be64(epoch), id) }
func kActData(epoch uint64, h identity.Address) []byte {
	return cat("act/d/", be64(epoch), h[:])
}
func kActOracle(epoch uint64, a identity.Address) []byte {
	return cat("act/o/", be64(epoch), a[:])
}

func cat(prefix string, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	out = append(out, prefix...)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// getJSON decodes the value at key into out; false when absent.
func getJSON(r state.Reader, key []byte, out any) bool {
	b := r.Get(key)
	if b == nil {
		return false
	}
	if err := json.Unmarshal(b, out); err != nil {
		// Only this application writes state; a value it cannot read is a
		// broken invariant.
		panic(fmt.Sprintf("app: decode state %q: %v", key, err))
	}
	return true
}

// setJSON stores v at key. encoding/json of these structs (no maps, no
// floats) is deterministic.
func setJSON(w state.Writer, key []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("app: encode state %q: %v", key, err))
	}
	w.Set(key, b)
}

func getUint(r state.Reader, key []byte) uint64 {
	b := r.Get(key)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setUint(w state.Writer, key []byte, v uint64) { w.Set(key, be64(v)) }

// Economics is the part of the genesis the epoch end needs.
type Economics struct {
	Emission []EmissionStep `json:"emission"`
	Rewards  rewards.Params `json:"rewards"`
	// Emission an epoch could not allocate, carried into the next.
	Unallocated uint64 `json:"unallocated"`
}

// EmissionAt is what epoch mints.
func (e *Economics) EmissionAt(epoch uint64) uint64 {
	var v uint64
	for _, s := range e.Emission {
		if epoch >= s.FromEpoch {
			v = s.PerEpochUHXP
		}
	}
	return v
}

// validatorRec is a validator as the state keeps it.
type validatorRec struct {
	Address client.HexBytes  `json:"address"`
	PubKey  client.HexBytes  `json:"pub_key"`
	Power   int64            `json:"power"`
	Name    string           `json:"name,omitempty"`
	Reward  identity.Address `json:"reward_account"`
}

// ledger wraps a state writer with typed accessors.
type ledger struct {
	w state.Writer
	// memo caches decoded hotspot records by their encoding (may be nil).
	memo *hotspotMemo
}

// hotspotMemo maps a hotspot record's exact bytes to its decoded value. It
// is a pure function cache: the same bytes always decode the same way, so
// it cannot change any result, only skip repeated JSON decoding of the
// hotspots every receipt reads.
type hotspotMemo struct {
	m map[string]client.Hotspot
}

const hotspotMemoMax = 200_000

func (m *hotspotMemo) get(b []byte) (client.Hotspot, bool) {
	if m == nil {
		return client.Hotspot{}, false
	}
	h, ok := m.m[string(b)]
	return h, ok
}

func (m *hotspotMemo) put(b []byte, h client.Hotspot) {
	if m == nil {
		return
	}
	if len(m.m) >= hotspotMemoMax {
		m.m = make(map[string]client.Hotspot, 1024)
	}
	m.m[string(b)] = h
}

func (l ledger) params() client.Params {
	var p client.Params
	if !getJSON(l.w, keyParams, &p) {
		panic("app: no params in state (InitChain not run)")
	}
	return p
}

func (l ledger) account(a identity.Address) client.Account {
	acc := client.Account{Address: a}
	getJSON(l.w, kAccount(a), &acc)
	return acc
}

func (l ledger) setAccount(acc client.Account) {
	if acc.BalanceUHXP == 0 && acc.DC == 0 && acc.Nonce == 0 {
		l.w.Delete(kAccount(acc.Address))
		return
	}
	setJSON(l.w, kAccount(acc.Address), acc)
}

func (l ledger) hotspot(a identity.Address) (client.Hotspot, bool) {
	b := l.w.Get(kHotspot(a))
	if b == nil {
		return client.Hotspot{}, false
	}
	if h, ok := l.memo.get(b); ok {
		return h, true
	}
	var h client.Hotspot
	if err := json.Unmarshal(b, &h); err != nil {
		panic(fmt.Sprintf("app: decode hotspot %s: %v", a, err))
	}
	l.memo.put(b, h)
	return h, true
}

func (l ledger) setHotspot(h client.Hotspot) { setJSON(l.w, kHotspot(h.Address), h) }

func (l ledger) oui(n uint64) (client.OUI, bool) {
	var o client.OUI
	ok := getJSON(l.w, kOUI(n), &o)
	return o, ok
}

func (l ledger) setOUI(o client.OUI) { setJSON(l.w, kOUI(o.OUI), o) }

func (l ledger) supply() client.Supply {
	var s client.Supply
	getJSON(l.w, keySupply, &s)
	return s
}

func (l ledger) setSupply(s client.Supply) { setJSON(l.w, keySupply, s) }

func (l ledger) price() client.Price {
	var p client.Price
	getJSON(l.w, keyPrice, &p)
	return p
}

func (l ledger) validators() []validatorRec {
	var v []validatorRec
	getJSON(l.w, keyValidators, &v)
	return v
}

func (l ledger) economics() Economics {
	var e Economics
	getJSON(l.w, keyEconomics, &e)
	return e
}

// credit adds micro-HXP to an account.
func (l ledger) credit(a identity.Address, amount uint64) {
	acc := l.account(a)
	acc.BalanceUHXP += amount
	l.setAccount(acc)
}
