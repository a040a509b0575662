package metrics

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/ingest"
)

func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestSeries(t *testing.T) {
	m := New(logging.Discard())
	queueErr := error(nil)
	m.WatchQueue(func(context.Context) (map[string]int, error) {
		return map[string]int{"pending": 3, "done": 9}, queueErr
	})
	m.Report(ingest.ReportBeacon, "")
	m.Report(ingest.ReportWitness, "")
	m.Report(ingest.ReportWitness, "")
	m.Report(ingest.ReportWitness, string(ingest.ReasonSelfWitness))
	m.Receipt(ingest.ReceiptSubmitted)
	m.Receipt(ingest.ReceiptError)
	m.IndexerLatest(120, 100)
	m.IndexerCommitted(indexer.Stats{Blocks: 10, Height: 110, Rows: map[string]int{"blocks": 10, "txs": 4}})
	m.IndexerLatest(120, 110)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/hotspots/{address}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	srv := httptest.NewServer(m.Instrument(mux))
	defer srv.Close()
	for _, p := range []string{"/api/v1/hotspots/a", "/api/v1/hotspots/b", "/nowhere"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	got := scrape(t, m.Handler())
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{`oracle_ingest_reports_accepted_total{kind="beacon"}`, 1},
		{`oracle_ingest_reports_accepted_total{kind="witness"}`, 2},
		{`oracle_ingest_reports_rejected_total{kind="witness",reason="self_witness"}`, 1},
		{`oracle_ingest_receipts_total{event="submitted"}`, 1},
		{`oracle_ingest_receipts_total{event="error"}`, 1},
		{`oracle_ingest_receipts_total{event="committed"}`, 0},
		{`oracle_ingest_queue_beacons{state="pending"}`, 3},
		{`oracle_ingest_queue_beacons{state="submitted"}`, 0},
		{`oracle_indexer_height`, 110},
		{`oracle_indexer_chain_height`, 120},
		{`oracle_indexer_lag_blocks`, 10},
		{`oracle_indexer_blocks_total`, 10},
		{`oracle_indexer_rows_total{table="blocks"}`, 10},
		{`oracle_indexer_rows_total{table="txs"}`, 4},
		{`oracle_http_request_duration_seconds_count{code="404",method="GET",route="GET /api/v1/hotspots/{address}"}`, 2},
		{`oracle_http_request_duration_seconds_count{code="404",method="GET",route="none"}`, 1},
	} {
		if v, ok := got[tc.series]; !ok || v != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.series, v, ok, tc.want)
		}
	}
	if _, ok := got[`oracle_ingest_queue_beacons{state="done"}`]; ok {
		t.Error("finished beacons are not queue depth")
	}

	// The database is down: the queue is left out, the rest still served.
	queueErr = errors.New("connection refused")
	got = scrape(t, m.Handler())
	if _, ok := got[`oracle_ingest_queue_beacons{state="pending"}`]; ok {
		t.Error("queue depth served although it could not be read")
	}
	if got[`oracle_indexer_height`] != 110 {
		t.Errorf("indexer height %v with the queue failing", got[`oracle_indexer_height`])
	}
}

// Two oracles in one process keep their own counts (no global registry).
func TestPrivateRegistry(t *testing.T) {
	a, b := New(logging.Discard()), New(logging.Discard())
	a.Receipt(ingest.ReceiptCommitted)
	if got := scrape(t, b.Handler())[`oracle_ingest_receipts_total{event="committed"}`]; got != 0 {
		t.Fatalf("second registry counts %v receipts of the first", got)
	}
	if got := scrape(t, a.Handler())[`oracle_ingest_receipts_total{event="committed"}`]; got != 1 {
		t.Fatalf("committed receipts = %v, want 1", got)
	}
}
