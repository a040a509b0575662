package testsvc

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresSchemaIsolated(t *testing.T) {
	u, schema := Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE probe (id int)"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := conn.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe' AND table_schema = $1", schema).Scan(&got); err != nil {
		t.Fatalf("table not created in the test schema %s: %v", schema, err)
	}
}

func TestMQTTRoundTrip(t *testing.T) {
	c := MQTTClient(t)
	topic := TopicPrefix(t) + "probe"
	got := make(chan string, 1)
	if tok := c.Subscribe(topic, 1, func(_ mqttClient, m mqttMessage) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish(topic, 1, false, "hello"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message from the broker")
	}
}
