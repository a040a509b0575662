package rewards

import (
	"testing"

	"github.com/uber/h3-go/v4"
)

// children returns n distinct resolution-12 descendants of cell, each in a
// different resolution-11 cell (so every one counts as a separate hotspot
// location).
func children12(t *testing.T, cell uint64, n int) []uint64 {
	t.Helper()
	kids, err := h3.Cell(cell).Children(11)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) < n {
		t.Fatalf("cell %#x has %d res-11 descendants, need %d", cell, len(kids), n)
	}
	out := make([]uint64, n)
	for i := range out {
		c, err := kids[i].CenterChild(12)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = uint64(c)
	}
	return out
}

func cell(t *testing.T, lat, lng float64, res int) uint64 {
	t.Helper()
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), res)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(c)
}

// ring returns the neighbours of c (not c itself).
func ring(t *testing.T, c uint64) []uint64 {
	t.Helper()
	r, err := h3.Cell(c).GridRing(1)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, len(r))
	for i, x := range r {
		out[i] = uint64(x)
	}
	return out
}

// TestDensityHandComputed checks Density against computations done by hand
// from the HIP-17 definitions (written out per case).
func TestDensityHandComputed(t *testing.T) {
	t.Run("three hotspots in one res-10 hex", func(t *testing.T) {
		// Default levels. res 10: unclipped 3; occupied = 1 (only itself
		// has >= 1; its neighbours are empty); limit = min(1, 1*max(1-2+1,
		// 1)) = 1; clipped = min(1, 3) = 1. res 9..4: unclipped 1 <=
		// min(target, max) so clipped 1. scale = 1/3 -> floor(10^12/3).
		h10 := cell(t, 48.8566, 2.3522, 10)
		locs := children12(t, h10, 3)
		d, err := NewDensity(locs, DefaultDensityLevels())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locs {
			if got := d.Scale(l); got != 333_333_333_333 {
				t.Errorf("scale %d, want 333333333333", got)
			}
		}
		ex, _ := d.Explain(locs[0])
		if ex[1].Res != 10 || ex[1].Unclipped != 3 || ex[1].Occupied != 1 || ex[1].Limit != 1 || ex[1].Clipped != 1 {
			t.Errorf("res 10 figures %+v", ex[1])
		}
	})
	t.Run("two res-10 hexes under one res-9 hex", func(t *testing.T) {
		// res 10: each unclipped 1, clipped 1. res 9: unclipped 1+1 = 2,
		// occupied 1, limit 1, clipped 1: factor 1/2. Coarser: 1. Scale 1/2.
		h9 := cell(t, 40.7128, -74.0060, 9)
		kids, _ := h3.Cell(h9).Children(10)
		var locs []uint64
		for _, k := range kids[:2] {
			locs = append(locs, children12(t, uint64(k), 1)...)
		}
		d, err := NewDensity(locs, DefaultDensityLevels())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locs {
			if got := d.Scale(l); got != UnitOne/2 {
				t.Errorf("scale %d, want %d", got, UnitOne/2)
			}
		}
	})
	t.Run("far apart hotspots keep scale 1", func(t *testing.T) {
		// Different res-7 hexes, same res-6 or coarser: counts stay below
		// every target from res 7 up (2 < 5), and each res-10..8 hex holds
		// one hotspot: nothing clips.
		a := cell(t, 51.5074, -0.1278, 12)
		b := cell(t, 51.5474, -0.0278, 12)
		d, err := NewDensity([]uint64{a, b}, DefaultDensityLevels())
		if err != nil {
			t.Fatal(err)
		}
		if d.Scale(a) != UnitOne || d.Scale(b) != UnitOne {
			t.Errorf("scales %d %d, want %d", d.Scale(a), d.Scale(b), UnitOne)
		}
	})
	t.Run("occupied neighbours raise the limit", func(t *testing.T) {
		// One level only: res 8, N=2, target=1, max=4 (finer levels pass
		// counts through). Hex H holds 4 hotspots; k of its neighbours hold
		// 1 each. occupied(H) = 1 + k; limit = min(4, 1*max(1+k-2+1, 1)) =
		// min(4, max(k, 1)); clipped = min(limit, 4).
		//   k=0: limit 1 -> scale 1/4; k=2: limit 2 -> 1/2;
		//   k=3: limit 3 -> 3/4; k=5: limit 4 -> 1.
		// A neighbour (unclipped 1 <= min(target, max)) keeps scale 1.
		levels := []DensityLevel{{Res: 8, N: 2, Target: 1, Max: 4}}
		h := cell(t, -33.8688, 151.2093, 8)
		nb := ring(t, h)
		for _, tc := range []struct {
			k    int
			want uint64
		}{{0, UnitOne / 4}, {2, UnitOne / 2}, {3, UnitOne * 3 / 4}, {5, UnitOne}} {
			locs := children12(t, h, 4)
			for _, n := range nb[:tc.k] {
				locs = append(locs, children12(t, n, 1)...)
			}
			d, err := NewDensity(locs, levels)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Scale(locs[0]); got != tc.want {
				t.Errorf("k=%d: scale %d, want %d", tc.k, got, tc.want)
			}
			if tc.k > 0 {
				if got := d.Scale(locs[4]); got != UnitOne {
					t.Errorf("k=%d: neighbour scale %d, want %d", tc.k, got, UnitOne)
				}
			}
		}
	})
	t.Run("clipping at res 7 from many res-8 hexes", func(t *testing.T) {
		// Default levels. A res-7 hex G with 7 res-8 children, each holding
		// 2 hotspots in different res-9 hexes... each res-8 child: res 10
		// and 9 unclipped 1 -> clipped 1; res 8: unclipped 2, occupied =
		// children of G that are in its 1-ring with >= 1 (the centre child
		// sees all 6 others, an outer child sees at most 3 of its siblings:
		// all >= 1 occupied, so occupied >= 3 - N + 1 = 2 -> limit =
		// min(1, ...) = 1): clipped 1, factor 1/2. res 7: unclipped 7,
		// target 5, max 10, occupied 1 (neighbours empty) -> limit = 5,
		// clipped 5: factor 5/7. Coarser: 5 <= targets. Scale = 1/2 * 5/7
		// = 5/14 -> floor(10^12 * 5/14) = 357142857142.
		g := cell(t, 35.6762, 139.6503, 7)
		kids, _ := h3.Cell(g).Children(8)
		var locs []uint64
		for _, k := range kids {
			k9, _ := k.Children(9)
			locs = append(locs, children12(t, uint64(k9[0]), 1)...)
			locs = append(locs, children12(t, uint64(k9[1]), 1)...)
		}
		d, err := NewDensity(locs, DefaultDensityLevels())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locs {
			if got := d.Scale(l); got != 357_142_857_142 {
				t.Fatalf("scale %d, want 357142857142", got)
			}
		}
	})
	t.Run("unknown cell", func(t *testing.T) {
		d, _ := NewDensity(nil, DefaultDensityLevels())
		if d.Scale(cell(t, 0, 0, 12)) != 0 {
			t.Error("empty density gave a scale")
		}
	})
}

func TestDensityLevelsValidate(t *testing.T) {
	for _, bad := range [][]DensityLevel{
		{{Res: 11, N: 1, Target: 1, Max: 1}},
		{{Res: 5, N: 1, Target: 0, Max: 1}},
		{{Res: 5, N: 1, Target: 5, Max: 4}},
		{{Res: 5, N: 1, Target: 1, Max: 1}, {Res: 5, N: 1, Target: 1, Max: 1}},
	} {
		if _, err := NewDensity(nil, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func h3Disk(c uint64) ([]uint64, error) {
	d, err := h3.GridDisk(h3.Cell(c), 1)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(d))
	for i, x := range d {
		out[i] = uint64(x)
	}
	return out, nil
}
