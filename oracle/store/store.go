package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable is the table tern records the schema version in.
const VersionTable = "oracle_schema_version"

// Migrate brings the schema in the connection's search_path up to date.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// ErrUnreachable wraps every failure to reach the database at start.
var ErrUnreachable = errors.New("database unreachable")

// Open connects to url, checks the server answers, migrates the schema and
// returns a pool. A database that can't be reached gives an error that says
// which (password-redacted) URL was tried and what to check.
func Open(ctx context.Context, dbURL string) (*pgxpool.Pool, error) {
	if dbURL == "" {
		return nil, errors.New("no database URL: set --database-url (env ORACLE_DATABASE_URL), e.g. postgres://oracle@127.0.0.1:5432/oracle")
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %w (use postgres://user:password@host:5432/dbname)", Redact(dbURL), err)
	}
	if !strings.Contains(dbURL, "pool_max_conns") {
		// Ingest acknowledges a report only after its commit; more
		// connections let PostgreSQL flush many commits together.
		cfg.MaxConns = 20
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v (is PostgreSQL running and does the URL name an existing database and user?)", ErrUnreachable, Redact(dbURL), err)
	}
	err = Migrate(cctx, conn)
	conn.Close(context.Background())
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, Redact(dbURL), err)
	}
	return pool, nil
}

// Redact hides the password of a database URL for logs and errors.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Querier is what both a pool and a transaction offer.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Cursor returns the last indexed height (0 when nothing is indexed yet) and
// the chain id it was indexed from.
func Cursor(ctx context.Context, q Querier) (int64, string, error) {
	var h int64
	var chain string
	err := q.QueryRow(ctx, `SELECT height, chain_id FROM indexer_cursor WHERE id = 1`).Scan(&h, &chain)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read indexer cursor: %w", err)
	}
	return h, chain, nil
}
