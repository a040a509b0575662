package density

import (
	"math"
	"testing"

	"github.com/uber/h3-go/v4"
)

func cell(t *testing.T, lat, lng float64) h3.Cell {
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoneHotspotsKeepFullScale(t *testing.T) {
	// Hotspots far apart (different res-7 hexes and no dense neighbours)
	// are not reduced.
	locs := []h3.Cell{cell(t, 52.52, 13.40), cell(t, 48.85, 2.35), cell(t, 40.71, -74.0)}
	m, err := Compute(locs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range locs {
		if s := m.Scale(c); s != 1 {
			t.Fatalf("lone hotspot %s: scale %v, want 1", c, s)
		}
	}
}

func TestCrowdedHexIsScaledDown(t *testing.T) {
	// Ten hotspots in one res-10 hex (res 8-10 target 1, max 1): each res-10
	// hex counts as at most 1 when it has no occupied neighbours beyond N-1.
	base := cell(t, 52.52, 13.40)
	p10, _ := base.Parent(10)
	kids, err := p10.Children(12)
	if err != nil {
		t.Fatal(err)
	}
	locs := kids[:10]
	m, err := Compute(locs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Unclipped[p10] == 0 || m.Clipped[p10] != 1 {
		t.Fatalf("res-10 hex: unclipped %d clipped %d, want clipped 1", m.Unclipped[p10], m.Clipped[p10])
	}
	// Every hotspot shares the hex, so the scale is 1 / (hotspot count in
	// the res-10 hex) at that level, times the levels above (all 1 here).
	want := 1.0 / float64(m.Unclipped[p10])
	for _, c := range locs {
		if s := m.Scale(c); math.Abs(s-want) > 1e-12 {
			t.Fatalf("scale %v, want %v", s, want)
		}
	}
	// The sum of scales of a clipped hex equals its clipped count.
	sum := 0.0
	for _, c := range locs {
		sum += m.Scale(c)
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("scales sum to %v, want the clipped count 1", sum)
	}
}

func TestNeighboursRaiseTheLimit(t *testing.T) {
	// Res 7 with N=1, target 1, max 3: a hex's limit is target *
	// (occupied neighbours incl. itself - N + 1), capped at max. Three
	// hexes of 4 hotspots: the centre sees 3 occupied (limit 3), the others
	// see 2 or 3 depending on whether they touch each other.
	lv := map[int]Level{7: {N: 1, Target: 1, Max: 3}}
	a := cell(t, 52.52, 13.40)
	a7, _ := a.Parent(7)
	ring, _ := a7.GridDisk(1)
	var locs []h3.Cell
	for _, hx := range ring[:3] {
		center, _ := hx.CenterChild(12)
		kids, _ := center.Parent(11)
		k12, _ := kids.Children(12)
		locs = append(locs, k12[:4]...)
	}
	m, err := Compute(locs, lv)
	if err != nil {
		t.Fatal(err)
	}
	for _, hx := range ring[:3] {
		if m.Unclipped[hx] != 4 {
			t.Fatalf("hex %s unclipped %d, want 4", hx, m.Unclipped[hx])
		}
		if c := m.Clipped[hx]; c < 2 || c > 3 {
			t.Fatalf("hex %s clipped %d, want the limit raised by occupied neighbours to 2..3", hx, c)
		}
	}
}

func TestParentMatchesH3(t *testing.T) {
	for _, ll := range [][2]float64{{52.52, 13.40}, {-33.86, 151.21}, {0, 0}, {89.9, 179.9}, {-60, -120}} {
		c := cell(t, ll[0], ll[1])
		for r := 0; r <= 12; r++ {
			want, err := c.Parent(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := Parent(c, r); got != want {
				t.Fatalf("Parent(%s, %d) = %s, h3 says %s", c, r, got, want)
			}
		}
	}
}
