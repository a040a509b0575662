package devnet_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/sim/devnet"
	"github.com/hexproof/hexproof/sim/lns"
)

// TestSoakDevnetFaults kills -9 one validator, a router and the MQTT
// broker in turn while the world runs, and checks that the network
// carries on, each comes back, and nothing accepted is lost: every beacon
// the oracle accepted lands on chain, every voucher a router owes for an
// ended epoch is paid on chain, uplinks keep reaching the companies.
func TestSoakDevnetFaults(t *testing.T) {
	if os.Getenv("HEXPROOF_SOAK") != "1" {
		t.Skip("soak test: set HEXPROOF_SOAK=1 (make soak)")
	}
	cfg := smallConfig(t)
	r := start(t, cfg)
	d := r.d
	ep := d.Endpoints()
	w := d.World()
	ctx := context.Background()

	var mu sync.Mutex
	received := map[string]int{}
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(ep.MQTT).SetClientID("soak").SetAutoReconnect(true).
		SetMaxReconnectInterval(time.Second).SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("application/+/device/+/event/up", 1, func(_ mqtt.Client, m mqtt.Message) {
			var ev lns.UplinkEvent
			if json.Unmarshal(m.Payload(), &ev) == nil {
				mu.Lock()
				received[ev.Company]++
				mu.Unlock()
			}
		})
	}))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt: %v", tok.Error())
	}
	defer sub.Disconnect(100)

	clients := make([]*client.Client, len(ep.ChainRPC))
	for i, u := range ep.ChainRPC {
		c, err := client.New(u)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	height := func(i int) int64 {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		b, err := clients[i].LatestBlock(cctx)
		if err != nil {
			return -1
		}
		return b.Height
	}
	uplinks := func(company string) uint64 {
		s, _ := d.LNSStats(company)
		return s.Uplinks
	}
	// progress: the chain advances and every company gets new uplinks.
	progress := func(what string) {
		h0 := height(0)
		u0 := map[string]uint64{}
		for _, co := range w.Companies {
			u0[co.Name] = uplinks(co.Name)
		}
		waitFor(t, what+": chain and uplinks carry on", 60*time.Second, func() (bool, string) {
			for _, co := range w.Companies {
				if uplinks(co.Name) <= u0[co.Name] {
					return false, "no new uplinks for " + co.Name
				}
			}
			return height(0) >= h0+5, "chain stalled"
		})
	}
	progress("before faults")

	t.Run("validator killed with SIGKILL comes back", func(t *testing.T) {
		starts := d.ValidatorStarts(3)
		if err := d.KillValidator(3); err != nil {
			t.Fatal(err)
		}
		progress("validator 3 down")
		waitFor(t, "validator 3 restarted and caught up", 90*time.Second, func() (bool, string) {
			h3, h0 := height(3), height(0)
			return d.ValidatorStarts(3) > starts && h3 > 0 && h3 >= h0-2, "catching up"
		})
		// Same chain on every node.
		h := height(0) - 1
		var want []byte
		for i, c := range clients {
			b, err := c.BlockAt(ctx, h)
			if err != nil {
				t.Fatalf("node %d block %d: %v", i, h, err)
			}
			if want == nil {
				want = b.Hash
			} else if string(b.Hash) != string(want) {
				t.Fatalf("node %d has another block %d", i, h)
			}
		}
	})

	t.Run("router killed with SIGKILL comes back", func(t *testing.T) {
		co := w.Companies[0].Name
		starts := d.RouterStarts(co)
		if err := d.KillRouter(co); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "router restarted", 30*time.Second, func() (bool, string) { return d.RouterStarts(co) > starts, "" })
		progress("after the router was killed")
	})

	t.Run("MQTT broker killed with SIGKILL comes back", func(t *testing.T) {
		starts := d.BrokerStarts()
		if err := d.KillBroker(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "broker restarted", 30*time.Second, func() (bool, string) { return d.BrokerStarts() > starts, "" })
		progress("after the broker was killed")
		mu.Lock()
		before := received[w.Companies[0].Name]
		mu.Unlock()
		waitFor(t, "uplinks on the companies' topics again", 60*time.Second, func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return received[w.Companies[0].Name] > before, "none"
		})
	})

	// Let an epoch end after the faults and the hotspots claim it.
	c := clients[0]
	params, err := c.Params(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h0 := height(0)
	lastEnded := uint64(h0)/params.EpochBlocks + 1
	waitFor(t, "an epoch ends after the faults", 90*time.Second, func() (bool, string) {
		return uint64(height(0)) >= (lastEnded+1)*params.EpochBlocks+3, "waiting"
	})
	time.Sleep(3 * cfg.ClaimInterval)

	t.Run("every beacon the oracle accepted landed", func(t *testing.T) {
		q, err := d.IngestQueue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ingest queue: %v", q)
		if q["failed"] != 0 || q["expired"] != 0 || q["done"] == 0 {
			t.Fatalf("ingest queue %v", q)
		}
	})

	t.Run("every voucher of ended epochs paid on chain", func(t *testing.T) {
		checked := 0
		for _, co := range w.Companies {
			oui := d.OUI(co.Name)
			for _, h := range w.Hotspots {
				k, err := devnet.HotspotKey(h)
				if err != nil {
					t.Fatal(err)
				}
				var pub [32]byte
				copy(pub[:], k.PublicKey())
				for e := uint64(1); e <= lastEnded; e++ {
					owed, ok := d.RouterVoucher(co.Name, pub, e)
					if !ok || owed == 0 {
						continue
					}
					v, err := c.Voucher(ctx, oui, k.Address(), e)
					if err != nil {
						t.Fatalf("voucher %s %s epoch %d: %v", co.Name, h.Name, e, err)
					}
					if v.PaidDC != owed {
						t.Errorf("OUI %d hotspot %s epoch %d: router owes %d DC, chain paid %d", oui, h.Name, e, owed, v.PaidDC)
					}
					checked++
				}
			}
		}
		if checked == 0 {
			t.Fatal("no voucher to check")
		}
		t.Logf("%d vouchers: router counters equal chain payments", checked)
	})
}
