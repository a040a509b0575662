package devnet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/oracle/chainsource"
	"github.com/hexproof/hexproof/oracle/explorer"
	"github.com/hexproof/hexproof/oracle/h3api"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/ingest"
	"github.com/hexproof/hexproof/oracle/price"
	"github.com/hexproof/hexproof/oracle/store"
)

func (d *Devnet) startBroker(ctx context.Context, g *errgroup.Group, st *state) error {
	if d.cfg.MQTTServer != "" {
		d.mqttURL = d.cfg.MQTTServer
		d.progress("MQTT broker", "url", d.mqttURL, "embedded", false)
		return nil
	}
	ln, err := listenTCP(&st.MQTT, "MQTT broker")
	if err != nil {
		return err
	}
	ln.Close()
	b, err := d.newBroker(st.MQTT, d.log)
	if err != nil {
		return err
	}
	d.broker = b
	d.mqttURL = b.URL()
	g.Go(func() error { return b.proc.Run(ctx) })
	if err := waitTCP(ctx, b.addr, 30*time.Second); err != nil {
		return fmt.Errorf("embedded MQTT broker (log %s): %w", b.proc.logPath, err)
	}
	d.progress("MQTT broker", "url", d.mqttURL, "embedded", true)
	return nil
}

var schemaName = regexp.MustCompile(`[^a-z0-9_]`)

// databaseURL is the oracle's PostgreSQL URL: the configured one with
// search_path set to the devnet's own schema (created if missing), so that
// several devnets can share one server and a devnet restarted on the same
// directory continues in its schema.
func (d *Devnet) databaseURL(ctx context.Context) (string, error) {
	u, err := url.Parse(d.cfg.DatabaseURL)
	if err != nil {
		return "", fmt.Errorf("--database-url: %w", err)
	}
	q := u.Query()
	schema := d.cfg.DatabaseSchema
	if schema == "" && q.Get("search_path") != "" {
		return d.cfg.DatabaseURL, d.pingDatabase(ctx, d.cfg.DatabaseURL)
	}
	if schema == "" {
		schema = schemaName.ReplaceAllString(strings.ToLower(strings.ReplaceAll(d.chainID, "-", "_")), "")
	}
	if err := d.pingDatabase(ctx, d.cfg.DatabaseURL); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, d.cfg.DatabaseURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (d *Devnet) pingDatabase(ctx context.Context, dbURL string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dbURL)
	if err != nil {
		return fmt.Errorf("no PostgreSQL at %s: %w\nThe oracle's indexer needs one: start it (e.g. `make services`, or `docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres`) or point --database-url (DEVNET_DATABASE_URL) at yours", store.Redact(dbURL), err)
	}
	return conn.Close(cctx)
}

// startOracle runs the oracle's services: the price feed (which the
// validators vote), PoC ingest (gRPC), the indexer and the explorer.
func (d *Devnet) startOracle(ctx context.Context, g *errgroup.Group, st *state) error {
	dbURL, err := d.databaseURL(ctx)
	if err != nil {
		return err
	}
	pool, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("oracle database: %w", err)
	}
	d.pool = pool
	key, err := keyFile(d.path("keys", "oracle.json"))
	if err != nil {
		return err
	}
	httpLn, err := listenTCP(&st.OracleHTTP, "oracle HTTP")
	if err != nil {
		return err
	}
	grpcLn, err := listenTCP(&st.OracleGRPC, "oracle gRPC")
	if err != nil {
		httpLn.Close()
		return err
	}
	log := d.log.With("component", "oracle")
	feed, err := price.New(price.Config{Poll: 2 * time.Second, MaxAge: time.Minute}, log.With("service", "price"), nil,
		price.Simulated{Seed: "hexproof-devnet", Base: PriceUUSD, Bucket: time.Minute, MaxSwingPct: 5})
	if err != nil {
		return err
	}
	c, err := d.RPCClient(0)
	if err != nil {
		return err
	}
	src := chainsource.New(c)
	ix := indexer.New(indexer.Config{Batch: 50, Poll: 500 * time.Millisecond, RetryBackoff: time.Second}, log.With("service", "indexer"), pool, src, src)
	ing := ingest.New(ingest.Config{Window: d.cfg.IngestWindow, Tick: 250 * time.Millisecond, ResubmitAfter: 10 * d.cfg.BlockTime},
		log.With("service", "ingest"), pool, chainsource.NewIngest(src, key, 0), nil)
	d.ingest = ing
	ex := explorer.New(explorer.Config{}, log.With("service", "explorer"), pool, src.LatestHeight)
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/h3/cell", h3api.Handler())
	mux.Handle("GET /api/v1/price", feed.Handler())
	mux.Handle("/", ex.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error { return feed.Run(ctx) })
	g.Go(func() error { return ix.Run(ctx) })
	g.Go(func() error { return ing.Run(ctx, grpcLn) })
	g.Go(func() error {
		if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("oracle HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	d.progress("oracle up", "explorer", fmt.Sprintf("http://127.0.0.1:%d/", st.OracleHTTP), "ingest", grpcLn.Addr(), "database", store.Redact(dbURL))
	return nil
}
