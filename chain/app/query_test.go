package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
)

func TestQueryErrors(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice := testKey(t, "alice").Address().String()
	tests := []struct {
		path string
		code uint32
	}{
		{client.PathParams, client.QueryOK},
		{client.PathSupply, client.QueryOK},
		{client.PathValidators, client.QueryOK},
		{client.PathPrice, client.QueryOK},
		{client.PathOUIs, client.QueryOK},
		{"/nope", client.QueryNotFound},
		{client.PathAccount, client.QueryBadRequest},
		{client.PathAccount + "?address=hxp1bad", client.QueryBadRequest},
		{client.PathAccount + "?address=" + alice, client.QueryOK},
		{client.PathHotspot + "?address=" + alice, client.QueryNotFound},
		{client.PathHotspotsByOwner + "?address=" + alice, client.QueryOK},
		{client.PathHotspotsInCell + "?cell=zz", client.QueryBadRequest},
		{client.PathHotspotsInCell + "?cell=8c1fb46622dd5ff", client.QueryOK},
		{client.PathHotspotsInCell + "?cell=8c1fb46622dd5fe", client.QueryBadRequest},
		{client.PathDensity + "?cell=8c1fb46622dd5ff", client.QueryOK},
		{client.PathOUI + "?oui=x", client.QueryBadRequest},
		{client.PathOUI + "?oui=7", client.QueryNotFound},
		{client.PathRouteDevAddr + "?devaddr=zz", client.QueryBadRequest},
		{client.PathRouteDevAddr + "?devaddr=26000001", client.QueryOK},
		{client.PathRouteEUI + "?join_eui=1&dev_eui=q", client.QueryBadRequest},
		{client.PathBeacon + "?id=abcd", client.QueryBadRequest},
		{client.PathBeacon + "?id=" + client.HexBytes(make([]byte, 32)).String(), client.QueryNotFound},
		{client.PathHotspotPoC + "?address=" + alice + "&limit=5000", client.QueryBadRequest},
		{client.PathHotspotPoC + "?address=" + alice, client.QueryOK},
		{client.PathRewards + "?address=" + alice + "&epoch=1", client.QueryNotFound},
		{client.PathHotspotRewards + "?address=" + alice, client.QueryOK},
		{client.PathEpoch + "?epoch=1", client.QueryNotFound},
		{client.PathAccountRewards + "?epoch=1", client.QueryOK},
		{client.PathVoucher + "?oui=1&hotspot=" + alice + "&epoch=1", client.QueryOK},
		{client.PathVoucher + "?oui=1&epoch=1", client.QueryBadRequest},
		{"/params?%zz", client.QueryBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := n.query(tt.path, nil); got != tt.code {
				t.Fatalf("code %d, want %d", got, tt.code)
			}
		})
	}
}

// TestQueryHeight: the state has one version, so a query at any height but
// the latest committed one (or 0, "latest") is refused with a clear
// message instead of silently answered from the latest state.
func TestQueryHeight(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	n.block()
	n.block()
	h := n.app.Height()
	for _, tt := range []struct {
		height int64
		prove  bool
		code   uint32
		log    string
	}{
		{0, false, client.QueryOK, ""},
		{h, false, client.QueryOK, ""},
		{h - 1, false, client.QueryBadRequest, "latest committed height only"},
		{h + 1, false, client.QueryBadRequest, "latest committed height only"},
		{0, true, client.QueryBadRequest, "does not produce Merkle proofs"},
	} {
		t.Run(fmt.Sprintf("height %d prove %v", tt.height, tt.prove), func(t *testing.T) {
			r, err := n.app.Query(context.Background(), &abcitypes.RequestQuery{Path: client.PathParams, Height: tt.height, Prove: tt.prove})
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tt.code || r.Height != h || !strings.Contains(r.Log, tt.log) || (tt.code == client.QueryOK) != (len(r.Value) > 0) {
				t.Fatalf("code %d height %d log %q value %d bytes; want code %d height %d log containing %q", r.Code, r.Height, r.Log, len(r.Value), tt.code, h, tt.log)
			}
		})
	}
}
