// Package dial opens the hotspot's gRPC connections to routers and oracles.
// An endpoint "host:port" is plaintext (loopback, private networks);
// "tls://host:port" or "https://host:port" uses TLS with the system roots.
package dial
