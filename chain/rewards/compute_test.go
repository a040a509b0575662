package rewards

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hexproof/hexproof/internal/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func addr(name string) identity.Address { return identity.Address(sha256.Sum256([]byte(name))) }

// TestUnits checks HIP-15 units against hand values (N=4, r=0.8, cap 2).
func TestUnits(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		w       uint64
		beacon  uint64
		witness uint64
	}{
		{0, 0, 0},
		{1, 250_000_000_000, UnitOne},            // 1/4
		{4, UnitOne, UnitOne},                    // 4/4
		{5, 1_200_000_000_000, 760_000_000_000},  // 2-0.8; (4-0.2)/5
		{6, 1_360_000_000_000, 606_666_666_666},  // 2-0.64; (4-0.36)/6
		{14, 1_892_625_817_600, 221_955_298_742}, // 0.8^10 = 0.1073741824; (4-0.8926258176)/14
		{40, 1_999_675_481_447, 75_008_112_963},  // 0.8^36 = 0.000324518553..; 2 - floor(r^36 at 10^-12); (4-(1-0.8^36))/40 = 3.000324518553/40
	}
	for _, tt := range tests {
		b, w := p.Units(tt.w)
		if b != tt.beacon || w != tt.witness {
			t.Errorf("w=%d: units %d/%d, want %d/%d", tt.w, b, w, tt.beacon, tt.witness)
		}
	}
}

func TestShareExact(t *testing.T) {
	addrs := []identity.Address{addr("a"), addr("b"), addr("c")}
	got := share(10, []uint64{1, 1, 1}, addrs)
	// 10/3 = 3 r1 each: one micro-unit left, equal remainders, lowest address wins.
	want := []uint64{3, 3, 3}
	low := 0
	for i := range addrs {
		if string(addrs[i][:]) < string(addrs[low][:]) {
			low = i
		}
	}
	want[low]++
	if !cmp.Equal(got, want) {
		t.Errorf("share = %v, want %v", got, want)
	}
	if got := share(100, []uint64{0, 0, 0}, addrs); !cmp.Equal(got, []uint64{0, 0, 0}) {
		t.Errorf("zero weights: %v", got)
	}
	// Larger remainder first: 7 split 1:2 = 2.33 / 4.67 -> 2 / 5.
	if got := share(7, []uint64{1, 2}, addrs[:2]); !cmp.Equal(got, []uint64{2, 5}) {
		t.Errorf("share(7, 1:2) = %v", got)
	}
	// Totals beyond 2^64 take the 128-bit path.
	big := []uint64{1 << 63, 1 << 63, 1 << 62}
	s := share(1_000_000, big, addrs)
	if s[0]+s[1]+s[2] != 1_000_000 || s[0] != 400_000 || s[2] != 200_000 {
		t.Errorf("128-bit share = %v", s)
	}
}

// scenario is a small hand-checkable epoch.
func scenario(t *testing.T) (Params, Input) {
	p := DefaultParams()
	paris := cell(t, 48.8566, 2.3522, 12)
	lyon := cell(t, 45.7800, 4.8700, 12) // ~3 km from the pair
	nice := cell(t, 43.7102, 7.2620, 12)
	// Two hotspots in Lyon's same res-10 hex: each has scale 1/2.
	lyon10 := cell(t, 45.7640, 4.8357, 10)
	lyonPair := children12(t, lyon10, 2)
	hs := []Hotspot{
		{Address: addr("paris"), Owner: addr("owner1"), Location: paris},
		{Address: addr("lyon-a"), Owner: addr("owner2"), Location: lyonPair[0]},
		{Address: addr("lyon-b"), Owner: addr("owner2"), Location: lyonPair[1]},
		{Address: addr("nice"), Owner: addr("owner3"), Location: nice},
		{Address: addr("lyon-c"), Owner: addr("owner3"), Location: lyon},
	}
	in := Input{
		Emission:  1_000_000_000, // 1,000 HXP
		PriceUusd: 2_000_000,     // $2 per HXP
		Hotspots:  hs,
		Beacons: []Beacon{
			{Beaconer: addr("paris"), Witnesses: []identity.Address{addr("nice"), addr("lyon-a")}},
			{Beaconer: addr("lyon-a"), Witnesses: []identity.Address{addr("paris"), addr("nice"), addr("lyon-c"), addr("lyon-b"), addr("data-only")}},
			{Beaconer: addr("nice"), Witnesses: nil},
		},
		Data: []DataClaim{
			{Hotspot: addr("paris"), DC: 1_000_000}, // $10 = 5 HXP
			{Hotspot: addr("data-only"), Owner: addr("owner4"), DC: 500_000},
			{Hotspot: addr("paris"), DC: 200_000},
		},
		Validators: []Weighted{{Address: addr("val1"), Weight: 10}, {Address: addr("val2"), Weight: 30}},
		Oracles:    []Weighted{{Address: addr("oracle1"), Weight: 3}},
	}
	return p, in
}

// TestGoldenEpoch compares a hand-checkable epoch with
// testdata/epoch.golden (regenerate with -update and review).
//
// Hand check of the main figures (emission 10^9 µHXP):
//   - pools: beacon 10% = 100,000,000; witness 40% = 400,000,000; data 35%
//     = 350,000,000; validators 10% = 100,000,000; oracle 5% = 50,000,000.
//   - data: 1,700,000 DC * 10 µUSD / $2 = 8.5 HXP = 8,500,000 µHXP, under
//     the pool: paris 6,000,000, data-only 2,500,000; unused 341,500,000
//     -> beacon +68,300,000 (1/5), witness +273,200,000.
//   - units: paris (scale 1) 2 witnesses: beacon 0.5, each witness 1.
//     lyon-a (scale 1/2) 5 witnesses: beacon 1.2 * 1/2 = 0.6, each witness
//     0.76 * 1/2 = 0.38. nice: 0 witnesses, 0 units.
//   - beacon pool 168,300,000 over 0.5 + 0.6: paris 76,500,000, lyon-a
//     91,800,000.
//   - witness units: nice 1 + 0.38, lyon-a 1, paris 0.38, lyon-c 0.38,
//     lyon-b 0.38, data-only 0.38 (scaled by the beacon's hex, not its
//     own); total 3.9; pool 673,200,000: nice 1.38/3.9 -> 238,209,230.8,
//     lyon-a 1/3.9 -> 172,615,384.6, the others 0.38/3.9 -> 65,593,846.2 each.
//   - validators 1:3 of 100,000,000; oracle1 all 50,000,000.
func TestGoldenEpoch(t *testing.T) {
	p, in := scenario(t)
	out, err := Compute(p, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "epoch.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(append(got, '\n')) != string(want) {
		t.Fatalf("epoch differs from %s (run with -update and review):\n%s", path, got)
	}
	// A few of the hand-computed figures, asserted directly.
	byAddr := map[identity.Address]HotspotReward{}
	for _, h := range out.Hotspots {
		byAddr[h.Hotspot] = h
	}
	checks := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"data unused", out.Pools.DataUnused, 341_500_000},
		{"paris data", byAddr[addr("paris")].DataReward, 6_000_000},
		{"paris beacon", byAddr[addr("paris")].BeaconReward, 76_500_000},
		{"lyon-a beacon", byAddr[addr("lyon-a")].BeaconReward, 91_800_000},
		{"lyon-a scale", byAddr[addr("lyon-a")].Scale, UnitOne / 2},
		{"val2", out.Validators[indexOf(out.Validators, addr("val2"))].Reward, 75_000_000},
		{"oracle", out.Oracles[0].Reward, 50_000_000},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if w := byAddr[addr("nice")].WitnessReward; w < 238_209_230 || w > 238_209_231 {
		t.Errorf("nice witness reward %d, want 238209230.8", w)
	}
}

func indexOf(rs []AccountReward, a identity.Address) int {
	for i, r := range rs {
		if r.Address == a {
			return i
		}
	}
	return -1
}

func TestDeterministicShuffled(t *testing.T) {
	p, in := scenario(t)
	a, err := Compute(p, in)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20; i++ {
		s := in
		s.Hotspots = append([]Hotspot(nil), in.Hotspots...)
		s.Beacons = append([]Beacon(nil), in.Beacons...)
		s.Data = append([]DataClaim(nil), in.Data...)
		s.Validators = append([]Weighted(nil), in.Validators...)
		rng.Shuffle(len(s.Hotspots), func(i, j int) { s.Hotspots[i], s.Hotspots[j] = s.Hotspots[j], s.Hotspots[i] })
		rng.Shuffle(len(s.Beacons), func(i, j int) { s.Beacons[i], s.Beacons[j] = s.Beacons[j], s.Beacons[i] })
		rng.Shuffle(len(s.Data), func(i, j int) { s.Data[i], s.Data[j] = s.Data[j], s.Data[i] })
		rng.Shuffle(len(s.Validators), func(i, j int) { s.Validators[i], s.Validators[j] = s.Validators[j], s.Validators[i] })
		b, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("shuffled input changed the output:\n%s", diff)
		}
	}
}

func TestFlows(t *testing.T) {
	p, in := scenario(t)
	t.Run("no beacons: PoC to validators", func(t *testing.T) {
		s := in
		s.Beacons = nil
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if out.Pools.BeaconPaid != 0 || out.Pools.WitnessPaid != 0 || out.Pools.ValidatorPaid != 100_000_000+500_000_000+341_500_000 {
			t.Errorf("pools %+v", out.Pools)
		}
	})
	t.Run("no witnesses: witness pool to beaconers", func(t *testing.T) {
		s := in
		s.Beacons = []Beacon{{Beaconer: addr("paris"), Witnesses: nil}, {Beaconer: addr("nice")}}
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		// Beacons with no witness earn no units either: everything PoC
		// goes to validators.
		if out.Pools.ValidatorPaid != 941_500_000 {
			t.Errorf("pools %+v", out.Pools)
		}
	})
	t.Run("no oracles, no validators: unallocated", func(t *testing.T) {
		s := in
		s.Oracles, s.Validators = nil, []Weighted{{Address: addr("v"), Weight: 0}}
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if out.Unallocated != 150_000_000 || len(out.Validators) != 0 || len(out.Oracles) != 0 {
			t.Errorf("unallocated %d, validators %v", out.Unallocated, out.Validators)
		}
	})
	t.Run("data over the pool: pro rata", func(t *testing.T) {
		s := in
		s.PriceUusd = 1 // 1 µUSD per HXP: DC are worth a fortune
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if out.Pools.DataUnused != 0 || out.Pools.DataPaid != 350_000_000 {
			t.Errorf("pools %+v", out.Pools)
		}
	})
	t.Run("no price: pro rata", func(t *testing.T) {
		s := in
		s.PriceUusd = 0
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		// paris 1.2M DC, data-only 0.5M: 350M * 12/17 = 247,058,823.5..
		for _, h := range out.Hotspots {
			if h.Hotspot == addr("paris") && (h.DataReward < 247_058_823 || h.DataReward > 247_058_824) {
				t.Errorf("paris data %d", h.DataReward)
			}
		}
	})
	t.Run("unknown owner: unallocated", func(t *testing.T) {
		s := in
		s.Data = append([]DataClaim(nil), in.Data...)
		s.Data[1].Owner = identity.Address{}
		out, err := Compute(p, s)
		if err != nil {
			t.Fatal(err)
		}
		// data-only earned 2,500,000 data + 65,593,846 witness.
		if out.Pools.Unowned != 68_093_846 || out.Unallocated != 68_093_846 {
			t.Errorf("unowned %d, unallocated %d", out.Pools.Unowned, out.Unallocated)
		}
		for _, h := range out.Hotspots {
			if h.Owner.IsZero() && h.Total != 0 {
				t.Errorf("paid a hotspot without owner: %+v", h)
			}
		}
	})
	t.Run("bad params", func(t *testing.T) {
		bad := p
		bad.OracleBps++
		if _, err := Compute(bad, in); err == nil {
			t.Error("bps sum 10001 accepted")
		}
		dup := in
		dup.Hotspots = append([]Hotspot{in.Hotspots[0]}, in.Hotspots...)
		if _, err := Compute(p, dup); err == nil {
			t.Error("duplicate hotspot accepted")
		}
	})
}

// randomInput builds an epoch from a seed: hotspots clustered so density
// clips, random beacons, claims, validators and oracles.
func randomInput(seed uint64, nHotspots int, emission uint64) Input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	in := Input{Emission: emission, PriceUusd: rng.Uint64N(5_000_000)}
	base := []uint64{0x8c1fb46622dcdff, 0x8c2a1072b59ffff, 0x8c283082a1a5dff}
	var addrs []identity.Address
	for i := 0; i < nHotspots; i++ {
		var a identity.Address
		binaryPut(a[:], rng.Uint64(), rng.Uint64())
		c := base[rng.IntN(len(base))]
		// Walk a few random neighbours from a base cell: clusters.
		for k := rng.IntN(30); k > 0; k-- {
			d, err := h3Disk(c)
			if err == nil {
				c = d[rng.IntN(len(d))]
			}
		}
		in.Hotspots = append(in.Hotspots, Hotspot{Address: a, Owner: a, Location: c})
		addrs = append(addrs, a)
	}
	for i := 0; i < nHotspots; i++ {
		b := Beacon{Beaconer: addrs[rng.IntN(len(addrs))]}
		for k := rng.IntN(16); k > 0; k-- {
			b.Witnesses = append(b.Witnesses, addrs[rng.IntN(len(addrs))])
		}
		in.Beacons = append(in.Beacons, b)
	}
	for i := rng.IntN(10); i > 0; i-- {
		in.Data = append(in.Data, DataClaim{Hotspot: addrs[rng.IntN(len(addrs))], DC: rng.Uint64N(1 << 40)})
	}
	for i := rng.IntN(5); i > 0; i-- {
		in.Validators = append(in.Validators, Weighted{Address: addrs[rng.IntN(len(addrs))], Weight: rng.Uint64N(100)})
	}
	for i := rng.IntN(3); i > 0; i-- {
		in.Oracles = append(in.Oracles, Weighted{Address: addrs[rng.IntN(len(addrs))], Weight: rng.Uint64N(10)})
	}
	return in
}

func binaryPut(b []byte, x, y uint64) {
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
}

// TestInvariantProperty: for many random epochs, minted + unallocated ==
// emission exactly, and no hotspot total disagrees with its parts.
func TestInvariantProperty(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		emission := []uint64{0, 1, 7, 999_999_937, 1 << 62}[seed%5]
		in := randomInput(seed, 50, emission)
		out, err := Compute(DefaultParams(), in)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if err := out.Check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, h := range out.Hotspots {
			if h.Total != h.BeaconReward+h.WitnessReward+h.DataReward {
				t.Fatalf("seed %d: total mismatch %+v", seed, h)
			}
		}
	}
}

func FuzzCompute(f *testing.F) {
	f.Add(uint64(1), uint64(1_000_000), uint8(10), uint16(1000), uint16(4000), uint16(3500), uint16(1000))
	f.Add(uint64(2), uint64(1<<63), uint8(3), uint16(0), uint16(0), uint16(10000), uint16(0))
	f.Fuzz(func(t *testing.T, seed, emission uint64, n uint8, b, w, d, v uint16) {
		p := DefaultParams()
		p.BeaconBps, p.WitnessBps, p.DataBps, p.ValidatorBps = uint64(b%10001), uint64(w%10001), uint64(d%10001), uint64(v%10001)
		sum := p.BeaconBps + p.WitnessBps + p.DataBps + p.ValidatorBps
		if sum > 10_000 {
			return
		}
		p.OracleBps = 10_000 - sum
		in := randomInput(seed, int(n%40)+1, emission)
		out, err := Compute(p, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkEpoch10k(b *testing.B)  { benchEpoch(b, 10_000) }
func BenchmarkEpoch100k(b *testing.B) { benchEpoch(b, 100_000) }

// benchEpoch computes an epoch with n hotspots, n beacons of up to 15
// witnesses, claims, validators and oracles.
func benchEpoch(b *testing.B, n int) {
	if os.Getenv("HEXPROOF_BENCH") == "" && n > 10_000 && testing.Short() {
		b.Skip("short")
	}
	in := randomInput(42, n, 1_000_000_000_000)
	p := DefaultParams()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compute(p, in); err != nil {
			b.Fatal(err)
		}
	}
}
