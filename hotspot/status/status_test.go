package status

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/internal/logging"
)

func TestServeFetchPrint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	st := Status{Address: "hxp1abc", Now: now, Hotspot: &Hotspot{Onboarded: true, Owner: "hxp1own", Mode: "full", Location: "8c2a0a72e0539ff", Region: "EU868", GainDdbi: 30},
		Bridge:  Bridge{MQTTConnected: true, GatewayID: "0016c001ff10a235"},
		PoC:     poc.Snapshot{LastBeacon: &poc.BeaconInfo{At: now.Add(-time.Minute), EntropyHeight: 7, Ack: "OK"}},
		History: []PocEntry{{Kind: "witness", Height: 9, Beaconer: "hxp1other", Valid: false, Reason: "too_close"}},
		Rewards: []Reward{{Epoch: 3, Total: 150, Beacon: 100, Witness: 50}}}
	metrics := []Metric{{Name: "hotspot_x_total", Help: "X.", Type: "counter", Value: 3},
		{Name: "hotspot_q", Help: "Q.", Type: "gauge", Labels: Label("oracle", `a"b`), Value: 1},
		{Name: "hotspot_q", Help: "Q.", Type: "gauge", Labels: Label("oracle", "c"), Value: 2}}
	srv := New(ln, func() Status { return st }, func() []Metric { return metrics }, logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	got, err := Fetch(ctx, "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != "hxp1abc" || got.Hotspot.Owner != "hxp1own" || got.PoC.LastBeacon.EntropyHeight != 7 {
		t.Fatalf("fetched %+v", got)
	}
	var out bytes.Buffer
	Print(&out, got)
	for _, want := range []string{"hxp1own", "8c2a0a72e0539ff", "INVALID: too_close", "3: 150 = 100 + 50 + 0", "ack OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed status lacks %q:\n%s", want, out.String())
		}
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	want := "# HELP hotspot_x_total X.\n# TYPE hotspot_x_total counter\nhotspot_x_total 3\n# HELP hotspot_q Q.\n# TYPE hotspot_q gauge\nhotspot_q{oracle=\"a\\\"b\"} 1\nhotspot_q{oracle=\"c\"} 2\n"
	if body.String() != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", body.String(), want)
	}
	if _, err := Fetch(ctx, "http://127.0.0.1:1"); err == nil {
		t.Fatal("fetch from nowhere succeeded")
	}
}
