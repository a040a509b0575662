package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/oracle/chainsource"
	"github.com/hexproof/hexproof/oracle/explorer"
	"github.com/hexproof/hexproof/oracle/h3api"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/ingest"
	"github.com/hexproof/hexproof/oracle/metrics"
	"github.com/hexproof/hexproof/oracle/price"
	"github.com/hexproof/hexproof/oracle/store"
)

const synopsis = `usage: oracle [flags]

Runs the Hexproof oracle services against a chain node and a PostgreSQL
database:
  ingest    PoC report intake (gRPC PocIngestService on --grpc-listen); batches
            a beacon and its witnesses into one PocReceipt tx signed with --key-file
  indexer   follows committed blocks into PostgreSQL (--database-url)
  explorer  JSON API /api/v1/... and the web page with the coverage map (--http-listen)
  price     GET /api/v1/price for validators' vote extensions (--http-listen)
The HTTP listener also serves GET /api/v1/h3/cell?lat=&lng=&res=12 and the
Prometheus metrics on GET /metrics (or on --metrics-listen when set).

--services "auto" runs ingest, indexer and explorer, plus price when a price
source is configured. Examples:
  oracle --database-url postgres://oracle@127.0.0.1/oracle --chain-rpc http://127.0.0.1:26657
  oracle --services price --price-sim-base-uusd 1000000 --http-listen 127.0.0.1:8081`

var errUsage = errors.New("usage")

type options struct {
	services      string
	httpListen    string
	metricsListen string
	grpcListen    string
	chainRPC      string
	databaseURL   string
	keyFile       string
	txFee         uint64
	ingestWindow  time.Duration
	maxWitnesses  int
	priceStatic   uint64
	priceURL      string
	priceField    string
	priceScale    float64
	priceTime     string
	priceSimSeed  string
	priceSimBase  uint64
	priceSimBkt   time.Duration
	priceSimSwing uint64
	priceMaxAge   time.Duration
	pricePoll     time.Duration
	indexerBatch  int
	indexerPoll   time.Duration
	tileURL       string
	logFormat     string
	logLevel      string
}

func parse(args []string, stderr io.Writer, getenv func(string) string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("oracle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String(config.ConfigFlag, "", "TOML file with flag values (keys are flag names with underscores)")
	fs.StringVar(&o.services, "services", "auto", "comma-separated services to run: ingest, indexer, explorer, price; or auto")
	fs.StringVar(&o.httpListen, "http-listen", "127.0.0.1:8080", "`host:port` of the HTTP API (explorer, price, h3)")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "`host:port` serving only GET /metrics; empty serves /metrics on --http-listen")
	fs.StringVar(&o.grpcListen, "grpc-listen", "127.0.0.1:9090", "`host:port` of the PoC ingest gRPC service")
	fs.StringVar(&o.chainRPC, "chain-rpc", "http://127.0.0.1:26657", "CometBFT RPC `URL` of a chain node")
	fs.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL `URL`, e.g. postgres://oracle:secret@127.0.0.1:5432/oracle (indexer, explorer, ingest queue)")
	fs.StringVar(&o.keyFile, "key-file", "oracle.key", "oracle ed25519 key `file` signing receipts (created with mode 0600 if missing)")
	fs.Uint64Var(&o.txFee, "tx-fee", 0, "fee in micro-HXP offered per receipt tx (the chain's min_fee_uhxp)")
	fs.DurationVar(&o.ingestWindow, "ingest-window", 10*time.Second, "how long witnesses are collected after a beacon; must fit the chain's entropy validity")
	fs.IntVar(&o.maxWitnesses, "ingest-max-witnesses", 64, "witness reports per receipt (the chain's max_witnesses_per_receipt)")
	fs.Uint64Var(&o.priceStatic, "price-static-uusd", 0, "serve this fixed price (micro-USD per HXP)")
	fs.StringVar(&o.priceURL, "price-http-url", "", "`URL` of an HTTP JSON price upstream")
	fs.StringVar(&o.priceField, "price-http-field", "price_uusd", "dot path of the price in the upstream JSON, e.g. data.price")
	fs.Float64Var(&o.priceScale, "price-http-scale", 1, "multiplier from the upstream's unit to micro-USD (1e6 when it gives USD)")
	fs.StringVar(&o.priceTime, "price-http-time-field", "", "dot path of the upstream's own timestamp (RFC 3339 or Unix seconds), so a frozen upstream is seen as stale")
	fs.StringVar(&o.priceSimSeed, "price-sim-seed", "hexproof-devnet", "seed of the simulated devnet feed (same seed, same prices everywhere)")
	fs.Uint64Var(&o.priceSimBase, "price-sim-base-uusd", 0, "enable the simulated devnet feed around this price (micro-USD per HXP)")
	fs.DurationVar(&o.priceSimBkt, "price-sim-bucket", time.Minute, "the simulated price changes once per bucket")
	fs.Uint64Var(&o.priceSimSwing, "price-sim-swing-pct", 5, "the simulated price stays within this percentage of the base")
	fs.DurationVar(&o.priceMaxAge, "price-max-age", 5*time.Minute, "a quote older than this is stale: /api/v1/price answers 503")
	fs.DurationVar(&o.pricePoll, "price-poll", 10*time.Second, "how often price sources are fetched")
	fs.IntVar(&o.indexerBatch, "indexer-batch", 100, "blocks written per database transaction")
	fs.DurationVar(&o.indexerPoll, "indexer-poll", time.Second, "how often the indexer looks for new blocks when caught up")
	fs.StringVar(&o.tileURL, "tile-url", "", "optional XYZ map tile `template` (https://host/{z}/{x}/{y}.png) drawn under the hexes; empty draws hexes only")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = config.Usage(fs, "ORACLE", synopsis)
	if err := config.Load(fs, "ORACLE", args, getenv); err != nil {
		if errors.Is(err, config.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q (services are chosen with --services)", errUsage, fs.Args())
	}
	return o, nil
}

func (o *options) priceSources() []price.Source {
	var out []price.Source
	if o.priceStatic > 0 {
		out = append(out, price.Static{PriceUUSD: o.priceStatic})
	}
	if o.priceURL != "" {
		out = append(out, price.HTTPJSON{URL: o.priceURL, Field: o.priceField, Scale: o.priceScale, TimeField: o.priceTime})
	}
	if o.priceSimBase > 0 {
		out = append(out, price.Simulated{Seed: o.priceSimSeed, Base: o.priceSimBase, Bucket: o.priceSimBkt, MaxSwingPct: o.priceSimSwing})
	}
	return out
}

var allServices = []string{"ingest", "indexer", "explorer", "price"}

func (o *options) serviceSet() (map[string]bool, error) {
	set := map[string]bool{}
	if strings.TrimSpace(o.services) == "auto" {
		set["ingest"], set["indexer"], set["explorer"] = true, true, true
		set["price"] = len(o.priceSources()) > 0
		return set, nil
	}
	for _, s := range strings.Split(o.services, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allServices, s) {
			return nil, fmt.Errorf("%w: unknown service %q in --services (use %s or auto)", errUsage, s, strings.Join(allServices, ", "))
		}
		set[s] = true
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%w: --services lists no service", errUsage)
	}
	if set["price"] && len(o.priceSources()) == 0 {
		return nil, fmt.Errorf("%w: the price service needs a source: set --price-static-uusd, --price-http-url or --price-sim-base-uusd", errUsage)
	}
	return set, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := parse(args, stderr, getenv)
	if err != nil {
		return err
	}
	svc, err := o.serviceSet()
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	met := metrics.New(logger.With("service", "metrics"))
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/h3/cell", h3api.Handler())
	serveHTTP := false
	if o.metricsListen == "" {
		mux.Handle("GET /metrics", met.Handler())
	}

	if svc["price"] {
		feed, err := price.New(price.Config{Poll: o.pricePoll, MaxAge: o.priceMaxAge}, logger.With("service", "price"), nil, o.priceSources()...)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		mux.Handle("GET /api/v1/price", feed.Handler())
		g.Go(func() error { return feed.Run(gctx) })
		serveHTTP = true
	}
	if svc["ingest"] || svc["indexer"] || svc["explorer"] {
		c, err := client.New(o.chainRPC)
		if err != nil {
			return fmt.Errorf("%w: --chain-rpc: %v", errUsage, err)
		}
		src := chainsource.New(c)
		pool, err := store.Open(ctx, o.databaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		logger.Info("database ready", "url", store.Redact(o.databaseURL))
		if svc["indexer"] {
			ix := indexer.New(indexer.Config{Batch: o.indexerBatch, Poll: o.indexerPoll, OnCommit: met.IndexerCommitted, OnLatest: met.IndexerLatest},
				logger.With("service", "indexer"), pool, src, src)
			g.Go(func() error { return ix.Run(gctx) })
		}
		if svc["ingest"] {
			key, created, err := identity.LoadOrCreateKeyFile(o.keyFile)
			if err != nil {
				return fmt.Errorf("oracle key %s: %w", o.keyFile, err)
			}
			logger.Info("oracle key", "address", key.Address().String(), "file", o.keyFile, "created", created)
			lis, err := net.Listen("tcp", o.grpcListen)
			if err != nil {
				return fmt.Errorf("listen for ingest gRPC on %s: %w (set --grpc-listen)", o.grpcListen, err)
			}
			logger.Info("ingest listening", "addr", lis.Addr().String())
			fmt.Fprintf(stdout, "oracle: ingest gRPC on %s\n", lis.Addr())
			ing := ingest.New(ingest.Config{Window: o.ingestWindow, MaxWitnesses: o.maxWitnesses, Observer: met}, logger.With("service", "ingest"), pool,
				chainsource.NewIngest(src, key, o.txFee), nil)
			met.WatchQueue(ing.QueueStats)
			g.Go(func() error { return ing.Run(gctx, lis) })
		}
		if svc["explorer"] {
			ex := explorer.New(explorer.Config{TileURL: o.tileURL}, logger.With("service", "explorer"), pool, src.LatestHeight)
			mux.Handle("/", ex.Handler())
			serveHTTP = true
		}
	}
	if serveHTTP {
		lis, err := net.Listen("tcp", o.httpListen)
		if err != nil {
			return fmt.Errorf("listen for HTTP on %s: %w (set --http-listen)", o.httpListen, err)
		}
		fmt.Fprintf(stdout, "oracle: HTTP on http://%s/\n", lis.Addr())
		serve(gctx, g, lis, met.Instrument(mux))
	}
	if o.metricsListen != "" {
		lis, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w (set --metrics-listen)", o.metricsListen, err)
		}
		fmt.Fprintf(stdout, "oracle: metrics on http://%s/metrics\n", lis.Addr())
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", met.Handler())
		serve(gctx, g, lis, mmux)
	}
	logger.Info("oracle running", "services", o.services)
	return g.Wait()
}

// serve runs an HTTP server on lis in g until ctx ends.
func serve(ctx context.Context, g *errgroup.Group, lis net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve HTTP on %s: %w", lis.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}
