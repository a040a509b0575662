package location

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Resolution of asserted locations.
const Resolution = 12

// ErrCell is returned for a value that is not an H3 cell of resolution 12.
var ErrCell = errors.New("not an H3 resolution-12 cell")

// ParseCell parses an H3 cell index in hex ("8c2a1072b59ffff") and checks
// that it is a cell (mode 1) of resolution 12 with valid unused digits.
func ParseCell(s string) (uint64, error) {
	c, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not hex", ErrCell, s)
	}
	if err := CheckCell(c); err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrCell, s, err)
	}
	return c, nil
}

// CheckCell checks the structure of an H3 index for a resolution-12 cell.
func CheckCell(c uint64) error {
	if c>>63 != 0 {
		return errors.New("high bit set")
	}
	if mode := (c >> 59) & 0xf; mode != 1 {
		return fmt.Errorf("index mode %d, want 1 (cell)", mode)
	}
	if res := (c >> 52) & 0xf; res != Resolution {
		return fmt.Errorf("resolution %d, want %d", res, Resolution)
	}
	if base := (c >> 45) & 0x7f; base > 121 {
		return fmt.Errorf("base cell %d out of range", base)
	}
	for r := 1; r <= 15; r++ {
		d := (c >> (3 * (15 - r))) & 7
		if r <= Resolution && d == 7 {
			return fmt.Errorf("digit %d is 7", r)
		}
		if r > Resolution && d != 7 {
			return fmt.Errorf("unused digit %d is %d, want 7", r, d)
		}
	}
	return nil
}

// FormatCell renders a cell as H3's usual hex.
func FormatCell(c uint64) string { return strconv.FormatUint(c, 16) }

// Lookup asks the oracle at base (e.g. "https://oracle.example.com") for
// the resolution-12 cell containing lat/lng.
func Lookup(ctx context.Context, base string, lat, lng float64) (uint64, error) {
	if math.IsNaN(lat) || lat < -90 || lat > 90 || math.IsNaN(lng) || lng < -180 || lng > 180 {
		return 0, fmt.Errorf("position %v,%v out of range: give --lat in [-90, 90] and --lng in [-180, 180] degrees", lat, lng)
	}
	if base == "" {
		return 0, errors.New("no oracle HTTP API to convert the position; pass --oracle-http URL or the cell itself with --h3")
	}
	q := url.Values{}
	q.Set("lat", strconv.FormatFloat(lat, 'f', -1, 64))
	q.Set("lng", strconv.FormatFloat(lng, 'f', -1, 64))
	q.Set("res", strconv.Itoa(Resolution))
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/api/v1/h3/cell?"+q.Encode(), nil)
	if err != nil {
		return 0, fmt.Errorf("oracle URL %q: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ask oracle for the H3 cell: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		H3    string `json:"h3"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&body); err != nil {
		return 0, fmt.Errorf("oracle H3 answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("oracle refused the position (HTTP %d): %s", resp.StatusCode, body.Error)
	}
	return ParseCell(body.H3)
}

// Assertion is what `hotspot assert` prepares.
type Assertion struct {
	Hotspot    []byte
	Cell       uint64
	GainDBi    float64
	ElevationM int32
	Region     hexproofv1.Region
}

// Payload builds the AssertLocation payload (gain in tenths of dBi).
func (a Assertion) Payload() (*hexproofv1.AssertLocation, error) {
	if err := CheckCell(a.Cell); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCell, err)
	}
	if a.Region == hexproofv1.Region_REGION_UNSPECIFIED {
		return nil, errors.New("region missing: pass --region (e.g. EU868, US915)")
	}
	if math.IsNaN(a.GainDBi) || a.GainDBi < -10 || a.GainDBi > 30 {
		return nil, fmt.Errorf("antenna gain %v dBi out of range: give --gain in dBi between -10 and 30 (e.g. 3 for a stock antenna)", a.GainDBi)
	}
	if a.ElevationM < -500 || a.ElevationM > 10000 {
		return nil, fmt.Errorf("elevation %d m out of range: give the antenna's height above ground in metres", a.ElevationM)
	}
	return &hexproofv1.AssertLocation{Hotspot: a.Hotspot, Location: a.Cell, GainDdbi: int32(math.Round(a.GainDBi * 10)),
		ElevationM: a.ElevationM, Region: a.Region}, nil
}
