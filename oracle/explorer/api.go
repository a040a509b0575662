package explorer

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hexproof/hexproof/internal/identity"
)

// Beacon is one of a hotspot's beacons.
type Beacon struct {
	Height        int64     `json:"height"`
	TxIndex       int32     `json:"tx_index"`
	Valid         bool      `json:"valid"`
	Reason        string    `json:"reason"`
	Witnesses     int32     `json:"witnesses"`
	ValidWitness  int64     `json:"valid_witnesses"`
	Submitter     string    `json:"submitter"`
	FrequencyHz   int64     `json:"frequency_hz"`
	Datarate      string    `json:"datarate"`
	TransmittedAt time.Time `json:"transmitted_at"`
}

// WitnessReport is a witness report seen from one side.
type WitnessReport struct {
	Height   int64     `json:"height"`
	Beaconer string    `json:"beaconer"`
	Witness  string    `json:"witness"`
	Valid    bool      `json:"valid"`
	Reason   string    `json:"reason"`
	Selected bool      `json:"selected"`
	RssiDbm  int32     `json:"rssi_dbm"`
	SnrCb    int32     `json:"snr_cb"`
	Received time.Time `json:"received_at"`
}

// EpochReward is a hotspot's reward of one epoch.
type EpochReward struct {
	Epoch  int64           `json:"epoch"`
	Total  int64           `json:"total_uhxp"`
	Detail json.RawMessage `json:"detail"`
}

// Location is one assertion in a hotspot's history.
type Location struct {
	Height   int64   `json:"height"`
	Location string  `json:"location"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	GainDdbi int32   `json:"gain_ddbi"`
	Region   string  `json:"region"`
}

// HotspotDetail is the answer of GET /api/v1/hotspots/{address}.
type HotspotDetail struct {
	Hotspot
	Scale *float64 `json:"scale"`
	// Heights of its last beacon and last witness report (null: none yet),
	// and of the last indexed block, so "how long ago" needs no second call.
	LastBeaconHeight  *int64          `json:"last_beacon_height"`
	LastWitnessHeight *int64          `json:"last_witness_height"`
	IndexedHeight     int64           `json:"indexed_height"`
	Beacons           []Beacon        `json:"beacons"`
	WitnessedBy       []WitnessReport `json:"witnessed_by"`
	Witnessed         []WitnessReport `json:"witnessed"`
	Rewards           []EpochReward   `json:"rewards"`
	LocationHistory   []Location      `json:"location_history"`
}

func (s *Server) hotspot(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	if _, err := identity.ParseAddress(addr); err != nil {
		writeError(w, http.StatusBadRequest, "address must be an hxp1... hotspot address")
		return
	}
	limit, err := intParam(r, "limit", 50, 1, 500)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	h, err := scanHotspot(s.pool.QueryRow(ctx, `SELECT `+hotspotCols+` FROM hotspots WHERE address = $1`, addr))
	if errors.Is(err, pgx.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no hotspot "+addr+" in the indexed chain")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := HotspotDetail{Hotspot: h, Beacons: []Beacon{}, WitnessedBy: []WitnessReport{}, Witnessed: []WitnessReport{}, Rewards: []EpochReward{}, LocationHistory: []Location{}}
	if h.Location != nil {
		if sc, err := s.hex.scaleOf(ctx, *h.Location); err == nil {
			d.Scale = &sc
		}
	}
	rs, err := s.pool.Query(ctx, `SELECT b.height, b.tx_idx, b.valid, b.reason, b.witnesses,
			(SELECT count(*) FROM witnesses w WHERE w.height = b.height AND w.tx_idx = b.tx_idx AND w.valid),
			b.submitter, b.frequency_hz, b.datarate, b.transmitted_at
		FROM beacons b WHERE b.hotspot = $1 ORDER BY b.height DESC, b.tx_idx DESC LIMIT $2`, addr, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Beacons, err = pgx.CollectRows(rs, func(row pgx.CollectableRow) (Beacon, error) {
		var b Beacon
		err := row.Scan(&b.Height, &b.TxIndex, &b.Valid, &b.Reason, &b.Witnesses, &b.ValidWitness, &b.Submitter, &b.FrequencyHz, &b.Datarate, &b.TransmittedAt)
		return b, err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scanW := func(row pgx.CollectableRow) (WitnessReport, error) {
		var x WitnessReport
		err := row.Scan(&x.Height, &x.Beaconer, &x.Witness, &x.Valid, &x.Reason, &x.Selected, &x.RssiDbm, &x.SnrCb, &x.Received)
		return x, err
	}
	const wcols = `height, beaconer, hotspot, valid, reason, selected, rssi_dbm, snr_cb, received_at`
	// Through beacons (indexed by hotspot), then the witnesses' primary key.
	if rs, err = s.pool.Query(ctx, `SELECT w.height, w.beaconer, w.hotspot, w.valid, w.reason, w.selected, w.rssi_dbm, w.snr_cb, w.received_at
		FROM beacons b JOIN witnesses w ON w.height = b.height AND w.tx_idx = b.tx_idx
		WHERE b.hotspot = $1 ORDER BY b.height DESC, b.tx_idx DESC, w.idx LIMIT $2`, addr, limit); err == nil {
		d.WitnessedBy, err = pgx.CollectRows(rs, scanW)
	}
	if err == nil {
		if rs, err = s.pool.Query(ctx, `SELECT `+wcols+` FROM witnesses WHERE hotspot = $1 ORDER BY height DESC, tx_idx DESC LIMIT $2`, addr, limit); err == nil {
			d.Witnessed, err = pgx.CollectRows(rs, scanW)
		}
	}
	if err == nil {
		if rs, err = s.pool.Query(ctx, `SELECT epoch, total, detail FROM hotspot_rewards WHERE hotspot = $1 ORDER BY epoch`, addr); err == nil {
			d.Rewards, err = pgx.CollectRows(rs, func(row pgx.CollectableRow) (EpochReward, error) {
				var e EpochReward
				err := row.Scan(&e.Epoch, &e.Total, &e.Detail)
				return e, err
			})
		}
	}
	if err == nil {
		if rs, err = s.pool.Query(ctx, `SELECT height, location, gain_ddbi, region FROM hotspot_locations WHERE hotspot = $1 ORDER BY height, tx_idx`, addr); err == nil {
			d.LocationHistory, err = pgx.CollectRows(rs, func(row pgx.CollectableRow) (Location, error) {
				var l Location
				var c int64
				err := row.Scan(&l.Height, &c, &l.GainDdbi, &l.Region)
				l.Location = CellString(uint64(c))
				l.Lat, l.Lng, _ = center(uint64(c))
				return l, err
			})
		}
	}
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT (SELECT max(height) FROM beacons WHERE hotspot = $1), (SELECT max(height) FROM witnesses WHERE hotspot = $1),
			coalesce((SELECT height FROM indexer_cursor WHERE id = 1), 0)`, addr).Scan(&d.LastBeaconHeight, &d.LastWitnessHeight, &d.IndexedHeight)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// Link is a witness link for the map: a beaconer heard by a witness.
type Link struct {
	Beaconer string     `json:"beaconer"`
	Witness  string     `json:"witness"`
	From     [2]float64 `json:"from"`
	To       [2]float64 `json:"to"`
	Valid    bool       `json:"valid"`
	Count    int64      `json:"count"`
}

func (s *Server) links(w http.ResponseWriter, r *http.Request) {
	blocks, err := intParam(r, "blocks", 1000, 1, 1_000_000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := intParam(r, "limit", 2000, 1, 20000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rs, err := s.pool.Query(r.Context(), `SELECT w.beaconer, w.hotspot, bool_or(w.valid), count(*), hb.location, hw.location
		FROM witnesses w
		JOIN hotspots hb ON hb.address = w.beaconer
		JOIN hotspots hw ON hw.address = w.hotspot
		WHERE w.height > (SELECT coalesce(max(height), 0) FROM indexer_cursor) - $1
		  AND hb.location IS NOT NULL AND hw.location IS NOT NULL
		GROUP BY w.beaconer, w.hotspot, hb.location, hw.location
		ORDER BY count(*) DESC, w.beaconer, w.hotspot LIMIT $2`, blocks, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (Link, error) {
		var l Link
		var a, b int64
		if err := row.Scan(&l.Beaconer, &l.Witness, &l.Valid, &l.Count, &a, &b); err != nil {
			return l, err
		}
		l.From[0], l.From[1], _ = center(uint64(a))
		l.To[0], l.To[1], _ = center(uint64(b))
		return l, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []Link{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": out})
}

// EpochInfo is an epoch in the list.
type EpochInfo struct {
	Epoch       int64           `json:"epoch"`
	StartHeight int64           `json:"start_height"`
	EndHeight   int64           `json:"end_height"`
	Emission    int64           `json:"emission_uhxp"`
	Summary     json.RawMessage `json:"summary"`
}

func (s *Server) epochs(w http.ResponseWriter, r *http.Request) {
	rs, err := s.pool.Query(r.Context(), `SELECT epoch, start_height, end_height, emission, summary FROM epochs ORDER BY epoch DESC LIMIT 500`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := pgx.CollectRows(rs, scanEpoch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []EpochInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"epochs": out})
}

func scanEpoch(row pgx.CollectableRow) (EpochInfo, error) {
	var e EpochInfo
	err := row.Scan(&e.Epoch, &e.StartHeight, &e.EndHeight, &e.Emission, &e.Summary)
	return e, err
}

// HotspotEpochReward is one hotspot's line of an epoch.
type HotspotEpochReward struct {
	Hotspot string          `json:"hotspot"`
	Owner   string          `json:"owner"`
	Total   int64           `json:"total_uhxp"`
	Detail  json.RawMessage `json:"detail"`
}

// AccountEpochReward is a validator, oracle or remainder line of an epoch.
type AccountEpochReward struct {
	Account string `json:"account"`
	Kind    string `json:"kind"`
	Amount  int64  `json:"amount_uhxp"`
}

func (s *Server) epochRewards(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "epoch must be a non-negative integer")
		return
	}
	ctx := r.Context()
	rs, err := s.pool.Query(ctx, `SELECT epoch, start_height, end_height, emission, summary FROM epochs WHERE epoch = $1`, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	eps, err := pgx.CollectRows(rs, scanEpoch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(eps) == 0 {
		writeError(w, http.StatusNotFound, "epoch "+strconv.FormatInt(n, 10)+" has not ended or is not indexed yet")
		return
	}
	rs, err = s.pool.Query(ctx, `SELECT hotspot, owner, total, detail FROM hotspot_rewards WHERE epoch = $1 ORDER BY total DESC, hotspot`, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hs, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (HotspotEpochReward, error) {
		var x HotspotEpochReward
		err := row.Scan(&x.Hotspot, &x.Owner, &x.Total, &x.Detail)
		return x, err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err = s.pool.Query(ctx, `SELECT account, kind, amount FROM account_rewards WHERE epoch = $1 ORDER BY kind, account`, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (AccountEpochReward, error) {
		var x AccountEpochReward
		err := row.Scan(&x.Account, &x.Kind, &x.Amount)
		return x, err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if hs == nil {
		hs = []HotspotEpochReward{}
	}
	if as == nil {
		as = []AccountEpochReward{}
	}
	var total int64
	for _, h := range hs {
		total += h.Total
	}
	for _, a := range as {
		total += a.Amount
	}
	writeJSON(w, http.StatusOK, map[string]any{"epoch": eps[0], "hotspots": hs, "accounts": as, "total_uhxp": total})
}

// OUI is an OUI with its DC balance and usage.
type OUI struct {
	OUI      int64           `json:"oui"`
	Owner    string          `json:"owner"`
	Payer    string          `json:"payer"`
	NetID    int64           `json:"net_id"`
	Config   json.RawMessage `json:"config"`
	EscrowDC int64           `json:"escrow_dc"`
	BurnedDC int64           `json:"burned_dc"`
	UsedDC   int64           `json:"used_dc"`
	Packets  int64           `json:"packets"`
	Created  int64           `json:"created_height"`
	Updated  int64           `json:"updated_height"`
}

func (s *Server) ouis(w http.ResponseWriter, r *http.Request) {
	// Vouchers are cumulative per (oui, hotspot, epoch): usage is the sum
	// of the highest claimed voucher of each.
	rs, err := s.pool.Query(r.Context(), `SELECT o.oui, o.owner, o.payer, o.net_id, o.config, o.dc_escrow,
			coalesce((SELECT sum(dc) FROM dc_burns b WHERE b.oui = o.oui), 0)::bigint,
			coalesce((SELECT sum(m) FROM (SELECT max(dc) m FROM voucher_claims v WHERE v.oui = o.oui GROUP BY hotspot, epoch) x), 0)::bigint,
			coalesce((SELECT sum(m) FROM (SELECT max(packets) m FROM voucher_claims v WHERE v.oui = o.oui GROUP BY hotspot, epoch) x), 0)::bigint,
			o.created_height, o.updated_height
		FROM ouis o ORDER BY o.oui`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (OUI, error) {
		var o OUI
		err := row.Scan(&o.OUI, &o.Owner, &o.Payer, &o.NetID, &o.Config, &o.EscrowDC, &o.BurnedDC, &o.UsedDC, &o.Packets, &o.Created, &o.Updated)
		return o, err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []OUI{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ouis": out})
}
