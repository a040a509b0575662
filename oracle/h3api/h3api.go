package h3api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/uber/h3-go/v4"
)

// DefaultResolution is the resolution of asserted hotspot locations.
const DefaultResolution = 12

// CellResponse is the answer of GET /api/v1/h3/cell.
type CellResponse struct {
	// H3 is the cell as 15 lower-case hex digits.
	H3 string `json:"h3"`
	// Lat and Lng are the centre of the cell in degrees.
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
	Res int     `json:"res"`
}

// Cell returns the cell containing lat/lng at res.
func Cell(lat, lng float64, res int) (CellResponse, error) {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return CellResponse{}, fmt.Errorf("lat %v out of range: use degrees in [-90, 90]", lat)
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		return CellResponse{}, fmt.Errorf("lng %v out of range: use degrees in [-180, 180]", lng)
	}
	if res < 0 || res > 15 {
		return CellResponse{}, fmt.Errorf("res %d out of range: use 0..15", res)
	}
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), res)
	if err != nil {
		return CellResponse{}, fmt.Errorf("h3 cell of %v,%v: %w", lat, lng, err)
	}
	ll, err := c.LatLng()
	if err != nil {
		return CellResponse{}, fmt.Errorf("h3 cell centre: %w", err)
	}
	return CellResponse{H3: c.String(), Lat: ll.Lat, Lng: ll.Lng, Res: res}, nil
}

// Handler serves GET /api/v1/h3/cell?lat=&lng=&res= (res defaults to 12).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		q := r.URL.Query()
		lat, err := strconv.ParseFloat(q.Get("lat"), 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "lat: give a latitude in decimal degrees, e.g. lat=52.52")
			return
		}
		lng, err := strconv.ParseFloat(q.Get("lng"), 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "lng: give a longitude in decimal degrees, e.g. lng=13.405")
			return
		}
		res := DefaultResolution
		if s := q.Get("res"); s != "" {
			if res, err = strconv.Atoi(s); err != nil {
				writeError(w, http.StatusBadRequest, "res: give an integer resolution 0..15")
				return
			}
		}
		out, err := Cell(lat, lng, res)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, out)
	})
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}
