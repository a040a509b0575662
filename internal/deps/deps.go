//go:build tools

// Package deps pins the modules BRIEF.md names (and the packages of them the
// components use) in go.mod and go.sum, so `go mod tidy` keeps the exact
// versions even before every package imports them.
package deps

import (
	_ "github.com/brocaar/lorawan"
	_ "github.com/brocaar/lorawan/band"
	_ "github.com/chirpstack/chirpstack/api/go/v4/gw"
	_ "github.com/cometbft/cometbft-db"
	_ "github.com/cometbft/cometbft/abci/example/kvstore"
	_ "github.com/cometbft/cometbft/abci/types"
	_ "github.com/cometbft/cometbft/config"
	_ "github.com/cometbft/cometbft/crypto/ed25519"
	_ "github.com/cometbft/cometbft/libs/log"
	_ "github.com/cometbft/cometbft/node"
	_ "github.com/cometbft/cometbft/p2p"
	_ "github.com/cometbft/cometbft/privval"
	_ "github.com/cometbft/cometbft/proxy"
	_ "github.com/cometbft/cometbft/rpc/client/http"
	_ "github.com/cometbft/cometbft/types"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gorilla/websocket"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/tern/v2/migrate"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/mochi-mqtt/server/v2/hooks/auth"
	_ "github.com/mochi-mqtt/server/v2/listeners"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/uber/h3-go/v4"
	_ "golang.org/x/sync/errgroup"
	_ "google.golang.org/grpc"
)
