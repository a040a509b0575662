package h3api

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/uber/h3-go/v4"
)

func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/h3/cell", Handler())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestCellHandler(t *testing.T) {
	base := serve(t)
	tests := []struct {
		name   string
		query  string
		status int
		res    int
	}{
		{"berlin default res", "lat=52.52&lng=13.405", 200, 12},
		{"explicit res 8", "lat=52.52&lng=13.405&res=8", 200, 8},
		{"southern hemisphere", "lat=-33.86&lng=151.21&res=12", 200, 12},
		{"missing lat", "lng=13.405", 400, 0},
		{"lat out of range", "lat=91&lng=0", 400, 0},
		{"lng out of range", "lat=0&lng=181", 400, 0},
		{"res out of range", "lat=0&lng=0&res=16", 400, 0},
		{"res not a number", "lat=0&lng=0&res=x", 400, 0},
		{"NaN lat", "lat=NaN&lng=0", 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(base + "/api/v1/h3/cell?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				var e map[string]string
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e["error"] == "" {
					t.Fatalf("error body %v, %v: want {\"error\": ...}", e, err)
				}
				return
			}
			var got CellResponse
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			q, _ := url.ParseQuery(tc.query)
			c := h3.CellFromString(got.H3)
			if !c.IsValid() || c.Resolution() != tc.res || got.Res != tc.res || len(got.H3) != 15 {
				t.Fatalf("cell %q (res %d) invalid or wrong resolution, want res %d", got.H3, got.Res, tc.res)
			}
			// The point asked for must lie in the returned cell, and the
			// centre returned must map back to the same cell.
			lat, lng := mustFloat(t, q.Get("lat")), mustFloat(t, q.Get("lng"))
			want, _ := h3.LatLngToCell(h3.NewLatLng(lat, lng), tc.res)
			back, _ := h3.LatLngToCell(h3.NewLatLng(got.Lat, got.Lng), tc.res)
			if want != c || back != c {
				t.Fatalf("cell %s, point maps to %s, centre maps to %s", c, want, back)
			}
		})
	}
}

func mustFloat(t *testing.T, s string) float64 {
	var f float64
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		t.Fatal(err)
	}
	return f
}
