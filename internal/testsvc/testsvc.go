package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultDatabaseURL is used when HEXPROOF_TEST_DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultMQTTURL is used when HEXPROOF_TEST_MQTT_URL is unset.
const DefaultMQTTURL = "tcp://127.0.0.1:1883"

// Required reports whether missing services must fail tests.
func Required() bool { return os.Getenv("HEXPROOF_REQUIRE_SERVICES") == "1" }

// unavailable skips or fails t, as HEXPROOF_REQUIRE_SERVICES says.
func unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (HEXPROOF_REQUIRE_SERVICES=1) but unavailable: %v", service, err)
	}
	t.Skipf("%s unavailable (set HEXPROOF_REQUIRE_SERVICES=1 to fail instead): %v", service, err)
}

// DatabaseURL returns the base URL of the test database.
func DatabaseURL() string {
	if u := os.Getenv("HEXPROOF_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// Postgres creates a fresh schema for t and returns a connection URL whose
// search_path is that schema, plus the schema name. The schema is dropped
// when t ends.
func Postgres(t testing.TB) (connURL, schema string) {
	t.Helper()
	base := DatabaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, "PostgreSQL at "+redact(base), err)
		return "", ""
	}
	defer conn.Close(context.Background())

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// PostgresPool is Postgres plus an open pool, closed when t ends.
func PostgresPool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	u, schema := Postgres(t)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, schema
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// MQTTURL returns the broker URL for tests, after checking it accepts TCP
// connections.
func MQTTURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("HEXPROOF_TEST_MQTT_URL")
	if raw == "" {
		raw = DefaultMQTTURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("HEXPROOF_TEST_MQTT_URL %q: %v", raw, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		unavailable(t, "MQTT broker at "+raw, err)
		return ""
	}
	c.Close()
	return raw
}

// MQTTClient returns a connected paho client on the test broker, with a
// unique client id; it disconnects when t ends.
func MQTTClient(t testing.TB) mqtt.Client {
	t.Helper()
	broker := MQTTURL(t)
	var b [6]byte
	rand.Read(b[:])
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("hexproof-test-" + hex.EncodeToString(b[:])).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(true)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		unavailable(t, "MQTT broker at "+broker, fmt.Errorf("connect: %v", tok.Error()))
		return nil
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return c
}

// TopicPrefix returns a topic prefix unique to t, so parallel tests on one
// broker never see each other's messages. It ends with "/".
func TopicPrefix(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:]) + "/"
}
