package price

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/logging"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func get(t *testing.T, f *Feed) (int, map[string]any) {
	t.Helper()
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/price")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func TestSimulatedDeterministicAndBounded(t *testing.T) {
	s := Simulated{Seed: "devnet", Base: 1_000_000, Bucket: time.Minute, MaxSwingPct: 5}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[uint64]bool{}
	for i := 0; i < 200; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		a := s.At(at)
		b := s.At(at.Add(59 * time.Second))
		if a != b {
			t.Fatalf("bucket %d: %v then %v within one bucket", i, a, b)
		}
		if !a.UpdatedAt.Equal(at) {
			t.Fatalf("updated_at %v, want bucket start %v", a.UpdatedAt, at)
		}
		if a.PriceUUSD < 950_000 || a.PriceUUSD > 1_050_000 {
			t.Fatalf("price %d outside base +-5%%", a.PriceUUSD)
		}
		seen[a.PriceUUSD] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct prices over 200 buckets: the feed does not move", len(seen))
	}
	other := Simulated{Seed: "other", Base: 1_000_000, Bucket: time.Minute, MaxSwingPct: 5}
	if other.At(t0) == s.At(t0) && other.At(t0.Add(time.Minute)) == s.At(t0.Add(time.Minute)) {
		t.Fatal("different seeds give the same feed")
	}
}

func TestFeedServesFreshMedianAndRefusesStale(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var upstreamPrice atomic.Value
	upstreamPrice.Store(`{"data":{"price":"1.50","ts":"2026-03-01T12:00:00Z"}}`)
	var fail atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Write([]byte(upstreamPrice.Load().(string)))
	}))
	defer up.Close()

	f, err := New(Config{Poll: time.Second, MaxAge: time.Minute}, logging.Discard(), clk.now,
		HTTPJSON{URL: up.URL, Field: "data.price", Scale: 1e6, TimeField: "data.ts"},
		Static{PriceUUSD: 1_400_000},
		HTTPJSON{URL: up.URL, Field: "data.price", Scale: 1e6}, // no time field: dated by fetch
	)
	if err != nil {
		t.Fatal(err)
	}
	// Before any poll there is no price.
	if code, _ := get(t, f); code != http.StatusServiceUnavailable {
		t.Fatalf("before poll: status %d, want 503", code)
	}
	f.Poll(context.Background())
	code, body := get(t, f)
	if code != 200 || body["price_uusd"].(float64) != 1_500_000 {
		t.Fatalf("median of 1.5, 1.4, 1.5 USD: got %d %v", code, body)
	}
	if body["updated_at"] != "2026-03-01T12:00:00Z" {
		t.Fatalf("updated_at %v", body["updated_at"])
	}

	// The upstream fails; its quotes age out and only the static one stays.
	fail.Store(true)
	clk.add(2 * time.Minute)
	f.Poll(context.Background())
	code, body = get(t, f)
	if code != 200 || body["price_uusd"].(float64) != 1_400_000 {
		t.Fatalf("after upstream failure: %d %v, want the static 1.4 USD", code, body)
	}

	// An upstream that answers but whose own timestamp is old is stale.
	fail.Store(false)
	only, _ := New(Config{Poll: time.Second, MaxAge: time.Minute}, logging.Discard(), clk.now,
		HTTPJSON{URL: up.URL, Field: "data.price", Scale: 1e6, TimeField: "data.ts"})
	only.Poll(context.Background())
	if code, body := get(t, only); code != http.StatusServiceUnavailable {
		t.Fatalf("upstream timestamp 2 min old: status %d %v, want 503", code, body)
	}
}

func TestHTTPJSONParse(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		src     HTTPJSON
		doc     string
		want    uint64
		wantErr bool
	}{
		{"uusd integer", HTTPJSON{Field: "price_uusd"}, `{"price_uusd": 1234567}`, 1234567, false},
		{"usd nested", HTTPJSON{Field: "a.b", Scale: 1e6}, `{"a":{"b":0.25}}`, 250000, false},
		{"array index", HTTPJSON{Field: "0.p", Scale: 1e6}, `[{"p":"2"}]`, 2000000, false},
		{"unix time field", HTTPJSON{Field: "p", TimeField: "t"}, `{"p":5,"t":1800000000}`, 5, false},
		{"missing field", HTTPJSON{Field: "nope"}, `{"p":5}`, 0, true},
		{"negative", HTTPJSON{Field: "p"}, `{"p":-5}`, 0, true},
		{"zero", HTTPJSON{Field: "p"}, `{"p":0}`, 0, true},
		{"not a number", HTTPJSON{Field: "p"}, `{"p":true}`, 0, true},
		{"bad time", HTTPJSON{Field: "p", TimeField: "t"}, `{"p":5,"t":"yesterday"}`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc any
			dec := json.NewDecoder(strings.NewReader(tc.doc))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			q, err := tc.src.parse(doc, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && q.PriceUUSD != tc.want {
				t.Fatalf("price %d, want %d", q.PriceUUSD, tc.want)
			}
		})
	}
}

func TestNewNeedsASource(t *testing.T) {
	if _, err := New(Config{}, logging.Discard(), nil); err == nil {
		t.Fatal("a feed with no source must be refused")
	}
}

func FuzzHTTPJSONParse(f *testing.F) {
	f.Add([]byte(`{"data":{"price":"1.5","ts":"2026-03-01T12:00:00Z"}}`))
	f.Add([]byte(`{"data":{"price":1e300,"ts":17}}`))
	f.Add([]byte(`[1,2,3]`))
	src := HTTPJSON{Field: "data.price", Scale: 1e6, TimeField: "data.ts"}
	f.Fuzz(func(t *testing.T, b []byte) {
		var doc any
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if dec.Decode(&doc) != nil {
			return
		}
		q, err := src.parse(doc, time.Unix(0, 0))
		if err == nil && q.PriceUUSD == 0 {
			t.Fatal("accepted a zero price")
		}
	})
}
