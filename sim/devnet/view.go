package devnet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hexproof/hexproof/sim/air"
	"github.com/hexproof/hexproof/sim/lns"
)

// Stats is the devnet's summary: the chain, proof of coverage as the
// indexer saw it, and the traffic of the simulated world.
type Stats struct {
	Height int64  `json:"height"`
	Epoch  uint64 `json:"epoch"`
	// Beacons and witness reports recorded on chain, valid or invalid by
	// reason (from the oracle's index).
	BeaconsValid     uint64            `json:"beacons_valid"`
	BeaconsInvalid   map[string]uint64 `json:"beacons_invalid"`
	WitnessesValid   uint64            `json:"witnesses_valid"`
	WitnessesInvalid map[string]uint64 `json:"witnesses_invalid"`
	// Joins and Uplinks the companies' network servers accepted and
	// published to MQTT.
	Joins   uint64 `json:"joins"`
	Uplinks uint64 `json:"uplinks"`
	// Downlinks that went on air in RX1 / RX2 (join accepts and acks), and
	// beacons transmitted.
	DownlinksRX1 uint64 `json:"downlinks_rx1"`
	DownlinksRX2 uint64 `json:"downlinks_rx2"`
	// AcksRX1: data downlinks (acknowledgements) among DownlinksRX1.
	AcksRX1     uint64 `json:"acks_rx1"`
	BeaconsSent uint64 `json:"beacons_sent"`
	// DCSpent: data credits paid from the OUIs' escrow to hotspots through
	// voucher claims on chain.
	DCSpent uint64 `json:"dc_spent"`
	// RewardsMinted: micro-HXP minted by epoch ends.
	RewardsMinted uint64    `json:"rewards_minted_uhxp"`
	Air           air.Stats `json:"air"`
	LNS           lns.Stats `json:"lns"`
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// Stats collects the summary now.
func (d *Devnet) Stats(ctx context.Context) (Stats, error) {
	s := Stats{BeaconsInvalid: map[string]uint64{}, WitnessesInvalid: map[string]uint64{}}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range d.rpcs {
		c, err := d.RPCClient(i)
		if err != nil {
			continue
		}
		// One slow validator must not hide the others.
		bctx, bcancel := context.WithTimeout(cctx, 3*time.Second)
		b, err := c.LatestBlock(bctx)
		bcancel()
		if err != nil {
			keep(err)
			continue
		}
		s.Height = b.Height
		s.Epoch = uint64(b.Height) / max(d.epochBlocks, 1)
		if sup, err := c.Supply(cctx); err == nil {
			s.RewardsMinted = sup.MintedUHXP
		} else {
			keep(err)
		}
		break
	}
	if d.pool != nil {
		for _, t := range []struct {
			table   string
			valid   *uint64
			invalid map[string]uint64
		}{{"beacons", &s.BeaconsValid, s.BeaconsInvalid}, {"witnesses", &s.WitnessesValid, s.WitnessesInvalid}} {
			rows, err := d.pool.Query(cctx, "SELECT valid, reason, count(*) FROM "+t.table+" GROUP BY 1, 2")
			if err != nil {
				keep(err)
				continue
			}
			for rows.Next() {
				var valid bool
				var reason string
				var n int64
				if err := rows.Scan(&valid, &reason, &n); err != nil {
					keep(err)
					break
				}
				if valid {
					*t.valid += uint64(n)
				} else {
					t.invalid[reason] += uint64(n)
				}
			}
			rows.Close()
		}
		var dc int64
		keep(d.pool.QueryRow(cctx, "SELECT coalesce(sum(dc), 0) FROM voucher_claims").Scan(&dc))
		s.DCSpent = uint64(dc)
	}
	for _, l := range d.lnss {
		st := l.Stats()
		s.Joins += st.Joins
		s.Uplinks += st.Uplinks
		addLNS(&s.LNS, st)
	}
	s.DownlinksRX1, s.DownlinksRX2, s.BeaconsSent, s.AcksRX1 = d.rx1.Load(), d.rx2.Load(), d.beaconsTx.Load(), d.dataRX1.Load()
	if d.air != nil {
		s.Air = d.air.Stats()
	}
	return s, firstErr
}

func addLNS(t *lns.Stats, s lns.Stats) {
	t.Copies += s.Copies
	t.Frames += s.Frames
	t.Duplicates += s.Duplicates
	t.Joins += s.Joins
	t.JoinsRejected += s.JoinsRejected
	t.Uplinks += s.Uplinks
	t.Confirmed += s.Confirmed
	t.MICFailures += s.MICFailures
	t.Replays += s.Replays
	t.Unknown += s.Unknown
	t.Published += s.Published
	t.PublishErrors += s.PublishErrors
	t.Downlinks += s.Downlinks
	t.TxAcked += s.TxAcked
	t.TxRefused += s.TxRefused
	t.RX2Retries += s.RX2Retries
}

func reasons(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		r := k
		if r == "" {
			r = "?"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", r, m[k]))
	}
	return " (" + strings.Join(parts, " ") + ")"
}

// Line is the one-line summary of the live view.
func (s Stats) Line() string {
	return fmt.Sprintf("height %d epoch %d | beacons %d valid %d invalid%s | witnesses %d valid %d invalid%s | joins %d uplinks %d | downlinks rx1 %d rx2 %d | DC spent %d | minted %.6f HXP",
		s.Height, s.Epoch, s.BeaconsValid, sum(s.BeaconsInvalid), reasons(s.BeaconsInvalid),
		s.WitnessesValid, sum(s.WitnessesInvalid), reasons(s.WitnessesInvalid),
		s.Joins, s.Uplinks, s.DownlinksRX1, s.DownlinksRX2, s.DCSpent, float64(s.RewardsMinted)/1e6)
}

func (d *Devnet) viewOn() bool {
	switch d.cfg.View {
	case "on":
		return true
	case "off":
		return false
	}
	if d.cfg.LogFormat == "json" {
		return false
	}
	f, ok := d.out.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runView prints the summary: on a terminal one line refreshed at every
// block, else (and with --log-format json, as JSON) every ten seconds.
func (d *Devnet) runView(ctx context.Context) error {
	live := d.viewOn()
	every := 10 * time.Second
	if live {
		every = d.cfg.BlockTime
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastHeight int64 = -1
	for {
		select {
		case <-ctx.Done():
			if live {
				fmt.Fprintln(d.out)
			}
			return nil
		case <-t.C:
		}
		s, err := d.Stats(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Debug("summary", "err", err)
		}
		switch {
		case d.cfg.LogFormat == "json":
			b, _ := json.Marshal(struct {
				Time    time.Time `json:"time"`
				Summary Stats     `json:"summary"`
			}{time.Now().UTC(), s})
			fmt.Fprintln(d.out, string(b))
		case live:
			if s.Height == lastHeight {
				continue
			}
			lastHeight = s.Height
			fmt.Fprintf(d.out, "\r\033[K%s", s.Line())
		default:
			fmt.Fprintln(d.out, s.Line())
		}
	}
}
