package density

import (
	"fmt"

	"github.com/uber/h3-go/v4"
)

// Level holds the parameters of one resolution.
type Level struct {
	N, Target, Max int
}

// DefaultLevels are the BRIEF's (HIP-17/104) parameters, res 4..10.
var DefaultLevels = map[int]Level{
	4:  {2, 500, 1000},
	5:  {4, 100, 200},
	6:  {4, 25, 50},
	7:  {4, 5, 10},
	8:  {2, 1, 1},
	9:  {2, 1, 1},
	10: {2, 1, 1},
}

const (
	minRes = 4
	topRes = 11
)

// Map is the result of a computation.
type Map struct {
	// Unclipped and Clipped counts per hex, resolutions 4..11.
	Unclipped map[h3.Cell]int
	Clipped   map[h3.Cell]int
	levels    map[int]Level
}

// Compute rolls up the given hotspot locations (cells of resolution 11 or
// finer; coarser ones are ignored).
func Compute(locations []h3.Cell, levels map[int]Level) (*Map, error) {
	if levels == nil {
		levels = DefaultLevels
	}
	m := &Map{Unclipped: map[h3.Cell]int{}, Clipped: map[h3.Cell]int{}, levels: levels}
	byRes := make([]map[h3.Cell]int, topRes+1)
	for r := range byRes {
		byRes[r] = map[h3.Cell]int{}
	}
	for _, c := range locations {
		if !c.IsValid() || c.Resolution() < topRes {
			continue
		}
		byRes[topRes][Parent(c, topRes)]++
	}
	for c, n := range byRes[topRes] {
		m.Unclipped[c], m.Clipped[c] = n, n
	}
	for r := topRes - 1; r >= minRes; r-- {
		for c := range byRes[r+1] {
			byRes[r][Parent(c, r)] += m.Clipped[c]
		}
		lv, ok := levels[r]
		for c, n := range byRes[r] {
			m.Unclipped[c] = n
			if !ok {
				m.Clipped[c] = n
				continue
			}
			if lv.Target >= lv.Max {
				// limit = min(max, target * k) with k >= 1 is max whatever
				// the neighbours: skip the ring (res 8-10 by default).
				m.Clipped[c] = min(lv.Max, n)
				continue
			}
			ring, err := c.GridDisk(1)
			if err != nil {
				return nil, fmt.Errorf("neighbours of %s: %w", c, err)
			}
			occupied := 0
			for _, nb := range ring {
				if byRes[r][nb] >= lv.Target {
					occupied++
				}
			}
			limit := min(lv.Max, lv.Target*max(occupied-lv.N+1, 1))
			m.Clipped[c] = min(limit, n)
		}
	}
	return m, nil
}

// Scale returns the scale of a hotspot at location (res >= 11): the product
// over resolutions 4..10 of clipped/unclipped of its ancestor. 1 means no
// reduction.
func (m *Map) Scale(location h3.Cell) float64 {
	s := 1.0
	if !location.IsValid() || location.Resolution() < topRes {
		return 0
	}
	for r := minRes; r < topRes; r++ {
		p := Parent(location, r)
		u := m.Unclipped[p]
		if u == 0 {
			return 0
		}
		s *= float64(m.Clipped[p]) / float64(u)
	}
	return s
}

// Parent returns the ancestor of a valid cell at resolution res (<= the
// cell's), by rewriting the index bits as H3 defines them: the resolution
// field and, below it, every digit set to 7. Pure Go: the explorer calls it
// millions of times and a cgo call each would dominate.
func Parent(c h3.Cell, res int) h3.Cell {
	const (
		resOffset = 52
		resMask   = uint64(0xf) << resOffset
	)
	cr := int((uint64(c) & resMask) >> resOffset)
	if res >= cr {
		return c
	}
	v := (uint64(c) &^ resMask) | uint64(res)<<resOffset
	for r := res + 1; r <= cr; r++ {
		v |= uint64(7) << ((15 - r) * 3)
	}
	return h3.Cell(v)
}
