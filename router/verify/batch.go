package verify

import (
	"context"
	"runtime"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// maxBatch bounds one batch: most of the gain is there by 16 signatures,
// and every uplink of a batch waits for the whole batch (16 x ~20 us), which
// must stay small against the router's latency budget.
const maxBatch = 16

// batchOptions are curve25519-voi's defaults (cofactored, ZIP-215 rules):
// batch verification can't use the crypto/ed25519 preset. They differ from
// it only on signatures a key's owner crafts on purpose (small-order or
// non-canonical points); nobody can forge another key's signature under
// either.
var batchOptions = &voi.Options{}

type job struct {
	ek   *voi.ExpandedPublicKey
	msg  []byte
	sig  []byte
	ok   bool
	done chan struct{}
}

// Batcher checks uplink signatures on a few workers. A worker that finds
// several uplinks waiting verifies them as one batch (cheaper per signature
// than one by one); alone, an uplink is verified at once, so the batching
// adds no latency when the router is not busy.
type Batcher struct {
	keys    *Keys
	workers int
	jobs    chan *job
	pool    sync.Pool

	// mu guards live: senders hold it shared while they queue a job, so
	// Run can stop taking jobs (exclusive) knowing none is in flight.
	mu   sync.RWMutex
	live bool
}

// NewBatcher returns a batcher; workers <= 0 means GOMAXPROCS. Until Run
// is called (and after it returns) Uplink verifies inline.
func NewBatcher(keys *Keys, workers int) *Batcher {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	b := &Batcher{keys: keys, workers: workers, jobs: make(chan *job, 4*maxBatch)}
	b.pool.New = func() any { return &job{done: make(chan struct{}, 1)} }
	return b
}

// Run verifies until ctx ends.
func (b *Batcher) Run(ctx context.Context) error {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < b.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.work(quit)
		}()
	}
	b.mu.Lock()
	b.live = true
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock() // waits for senders queueing right now
	b.live = false
	b.mu.Unlock()
	close(quit) // workers finish what is queued, then leave
	wg.Wait()
	return nil
}

func (b *Batcher) work(quit <-chan struct{}) {
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-b.jobs:
			batch = append(batch[:0], j)
		case <-quit:
			select {
			case j := <-b.jobs:
				batch = append(batch[:0], j)
			default:
				return
			}
		}
		// Let the streams that are ready queue their uplinks too.
		runtime.Gosched()
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		verifyBatch(batch)
		for _, j := range batch {
			j.done <- struct{}{}
		}
	}
}

func verifyBatch(batch []*job) {
	if len(batch) > 1 {
		bv := voi.NewBatchVerifier()
		for _, j := range batch {
			bv.AddExpandedWithOptions(j.ek, j.msg, j.sig, batchOptions)
		}
		if bv.VerifyBatchOnly(nil) {
			for _, j := range batch {
				j.ok = true
			}
			return
		}
	}
	// One uplink, or a batch with a bad signature: one by one, with
	// crypto/ed25519's rules.
	for _, j := range batch {
		j.ok = voi.VerifyExpandedWithOptions(j.ek, j.msg, j.sig, stdlibOptions)
	}
}

// Uplink is Keys.Uplink through the batcher: it blocks until the signature
// is checked. Like Keys.Uplink it briefly clears up.Signature.
func (b *Batcher) Uplink(pub [32]byte, up *hexproofv1.Uplink) bool {
	msg, sig, ek, ok := b.keys.prepare(pub, up)
	if !ok {
		return false
	}
	b.mu.RLock()
	if !b.live {
		b.mu.RUnlock()
		return voi.VerifyExpandedWithOptions(ek, msg, sig, stdlibOptions)
	}
	j := b.pool.Get().(*job)
	j.ek, j.msg, j.sig, j.ok = ek, msg, sig, false
	b.jobs <- j
	b.mu.RUnlock()
	<-j.done
	ok = j.ok
	j.ek, j.msg, j.sig = nil, nil, nil
	b.pool.Put(j)
	return ok
}

// prepare checks the cheap things and returns what the signature covers.
func (k *Keys) prepare(pub [32]byte, up *hexproofv1.Uplink) (msg, sig []byte, ek *voi.ExpandedPublicKey, ok bool) {
	sig = up.GetSignature()
	if len(sig) != 64 {
		return nil, nil, nil, false
	}
	// Unknown fields would make the encoding depend on the decoder;
	// identity.MessageSignBytes refuses them, so do we.
	if len(up.ProtoReflect().GetUnknown()) > 0 || (up.GetRadio() != nil && len(up.GetRadio().ProtoReflect().GetUnknown()) > 0) {
		return nil, nil, nil, false
	}
	up.Signature = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(up)
	up.Signature = sig
	if err != nil {
		return nil, nil, nil, false
	}
	ek, ok = k.get(pub)
	if !ok {
		return nil, nil, nil, false
	}
	return identity.SignBytes(identity.DomainUplink, b), sig, ek, true
}
