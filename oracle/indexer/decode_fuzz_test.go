package indexer

import (
	"testing"
	"time"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"google.golang.org/protobuf/proto"
)

// Blocks come from the network: no transaction may crash the indexer, and
// each one becomes exactly one txs row.
func FuzzDecodeTx(f *testing.F) {
	body, _ := proto.Marshal(&hexproofv1.TxBody{ChainId: "c", Signer: make([]byte, 32), Payload: &hexproofv1.TxBody_PocReceipt{PocReceipt: &hexproofv1.PocReceipt{
		Beacon: &hexproofv1.BeaconReport{Hotspot: make([]byte, 32)}, Witnesses: []*hexproofv1.WitnessReport{{}}}}})
	tx, _ := proto.Marshal(&hexproofv1.Tx{Body: body})
	f.Add(tx)
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decode(&Block{Height: 1, Time: time.Unix(0, 0), Txs: [][]byte{raw}, Results: []TxResult{{Events: []Event{{Type: EventWitness, Attrs: []Attr{{"index", "0"}}}}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.txs) != 1 {
			t.Fatalf("%d tx rows for one tx", len(r.txs))
		}
	})
}
