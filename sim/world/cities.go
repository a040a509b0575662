package world

import (
	"fmt"
	"sort"
	"strings"
)

// City is a built-in place to put a world: its centre and the radius of
// its urban area.
type City struct {
	Name     string  `json:"name"`
	Country  string  `json:"country"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	RadiusKM float64 `json:"radius_km"`
	// Region is the LoRaWAN regional plan in force there ("EU868", "US915",
	// "AU915", ...).
	Region string `json:"region"`
}

// DefaultCity is the city of a Config that names none.
const DefaultCity = "amsterdam"

// Cities returns the built-in cities, sorted by name. The centres are the
// cities' usual reference points; the radii are rounded extents of their
// dense urban areas.
func Cities() []City {
	c := []City{
		{"amsterdam", "NL", 52.3676, 4.9041, 10, "EU868"},
		{"austin", "US", 30.2672, -97.7431, 14, "US915"},
		{"berlin", "DE", 52.5200, 13.4050, 15, "EU868"},
		{"lisbon", "PT", 38.7223, -9.1393, 8, "EU868"},
		{"london", "GB", 51.5074, -0.1278, 16, "EU868"},
		{"madrid", "ES", 40.4168, -3.7038, 12, "EU868"},
		{"new-york", "US", 40.7128, -74.0060, 15, "US915"},
		{"paris", "FR", 48.8566, 2.3522, 11, "EU868"},
		{"san-francisco", "US", 37.7749, -122.4194, 8, "US915"},
		{"sydney", "AU", -33.8688, 151.2093, 16, "AU915"},
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Name < c[j].Name })
	return c
}

// CityNames lists the built-in city names.
func CityNames() []string {
	var n []string
	for _, c := range Cities() {
		n = append(n, c.Name)
	}
	return n
}

// LookupCity returns the built-in city of that name (case-insensitive).
func LookupCity(name string) (City, error) {
	for _, c := range Cities() {
		if strings.EqualFold(c.Name, strings.TrimSpace(name)) {
			return c, nil
		}
	}
	return City{}, fmt.Errorf("unknown city %q: choose one of %s, or load a world file", name, strings.Join(CityNames(), ", "))
}
