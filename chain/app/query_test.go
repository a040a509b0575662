package app

import (
	"testing"

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
