package dial

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Target splits an endpoint into the gRPC target and whether it uses TLS.
func Target(endpoint string) (string, bool, error) {
	target, useTLS := endpoint, false
	for _, p := range []string{"tls://", "https://"} {
		if rest, ok := strings.CutPrefix(endpoint, p); ok {
			target, useTLS = rest, true
		}
	}
	if rest, ok := strings.CutPrefix(target, "http://"); ok {
		target = rest
	}
	if target == "" || strings.Contains(target, "/") {
		return "", false, fmt.Errorf("endpoint %q: want host:port, tls://host:port or https://host:port", endpoint)
	}
	return target, useTLS, nil
}

// Client creates a (lazily connecting) gRPC client for endpoint.
func Client(endpoint string) (*grpc.ClientConn, error) {
	target, useTLS, err := Target(endpoint)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	bc := backoff.DefaultConfig
	bc.MaxDelay = 30 * time.Second
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: 5 * time.Second}),
		// Servers reject pings more often than every 5 minutes by default.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 5 * time.Minute, Timeout: 20 * time.Second}),
	)
}
