package location

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestParseCell(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"8c2a0a72e0539ff", true},
		{"0x8C2A0A72E0539FF", true},
		{"8b2a0a72e0539ff", false}, // resolution 11
		{"852a1073fffffff", false}, // resolution 5
		{"zz", false},
		{"0", false},
		{"8c2a0a72e0539f0", false}, // unused digit not 7
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := ParseCell(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseCell(%q) = %x, %v", tc.in, c, err)
			}
			if err != nil && !errors.Is(err, ErrCell) {
				t.Fatalf("error %v is not ErrCell", err)
			}
			if err == nil && FormatCell(c) != "8c2a0a72e0539ff" {
				t.Fatalf("format %s", FormatCell(c))
			}
		})
	}
}

func FuzzParseCell(f *testing.F) {
	f.Add("8c2a0a72e0539ff")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			return
		}
		if back, err := ParseCell(FormatCell(c)); err != nil || back != c {
			t.Fatalf("round trip of %q failed", s)
		}
	})
}

func TestLookup(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/api/v1/h3/cell" || q.Get("res") != "12" || q.Get("lat") != "52.52" || q.Get("lng") != "13.405" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"unexpected %s"}`, r.URL)
			return
		}
		fmt.Fprint(w, `{"h3":"8c2a0a72e0539ff","lat":52.52,"lng":13.405,"res":12}`)
	}))
	defer srv.Close()
	c, err := Lookup(context.Background(), srv.URL, 52.52, 13.405)
	if err != nil || FormatCell(c) != "8c2a0a72e0539ff" {
		t.Fatalf("lookup %x %v", c, err)
	}
	if _, err := Lookup(context.Background(), srv.URL, 1, 2); err == nil {
		t.Fatal("oracle error not returned")
	}
	if _, err := Lookup(context.Background(), srv.URL, 91, 2); err == nil {
		t.Fatal("bad latitude accepted")
	}
}

func TestPayload(t *testing.T) {
	c, _ := ParseCell("8c2a0a72e0539ff")
	p, err := Assertion{Hotspot: []byte{1}, Cell: c, GainDBi: 5.8, ElevationM: 12, Region: hexproofv1.Region_REGION_EU868}.Payload()
	if err != nil || p.GainDdbi != 58 || p.Location != c || p.ElevationM != 12 {
		t.Fatalf("payload %v %v", p, err)
	}
	if _, err := (Assertion{Cell: c, GainDBi: 3}).Payload(); err == nil {
		t.Fatal("missing region accepted")
	}
	if _, err := (Assertion{Cell: c, GainDBi: 99, Region: 1}).Payload(); err == nil {
		t.Fatal("absurd gain accepted")
	}
}
