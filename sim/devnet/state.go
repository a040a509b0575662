package devnet

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// state is what a devnet remembers in DIR/devnet.json so that a second run
// on the same directory continues the same network on the same ports.
type state struct {
	ChainID    string `json:"chain_id"`
	BasePort   int    `json:"validator_base_port"`
	Validators int    `json:"validators"`
	OracleHTTP int    `json:"oracle_http_port"`
	OracleGRPC int    `json:"oracle_grpc_port"`
	MQTT       int    `json:"mqtt_port,omitempty"`
	// Routers and LNS are keyed by company name.
	Routers map[string]int    `json:"router_ports"`
	LNS     map[string]int    `json:"lns_ports"`
	OUIs    map[string]uint64 `json:"ouis"`
	// HotspotStatus are the agents' status API ports by hotspot index.
	HotspotStatus []int `json:"hotspot_status_ports"`
	// Bridges are the firmware bridges' UDP ports by hotspot index.
	Bridges []int `json:"bridge_udp_ports"`
	// SetupDone: accounts funded, OUIs created, hotspots onboarded.
	SetupDone bool `json:"setup_done"`
}

func loadState(path string) (*state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Routers: map[string]int{}, LNS: map[string]int{}, OUIs: map[string]uint64{}}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, false, fmt.Errorf("%s: %w (remove the directory to start a new devnet)", path, err)
	}
	if s.Routers == nil {
		s.Routers = map[string]int{}
	}
	if s.LNS == nil {
		s.LNS = map[string]int{}
	}
	if s.OUIs == nil {
		s.OUIs = map[string]uint64{}
	}
	return &s, true, nil
}

func (s *state) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}

// Stable ports (those the chain or config files name, kept across runs)
// are picked below Linux's ephemeral range (32768-60999) so that no
// outgoing connection holds one when the devnet starts again.
const (
	stableLow  = 20000
	stableHigh = 32000
)

// stablePort picks a free port for a new devnet in [stableLow, stableHigh).
func stablePort() int {
	for range 200 {
		var b [2]byte
		rand.Read(b[:])
		p := stableLow + int(binary.BigEndian.Uint16(b[:]))%(stableHigh-stableLow)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			continue
		}
		u.Close()
		return p
	}
	return 0
}

// listenTCP listens on 127.0.0.1:*port; a zero port picks a free stable
// one and stores it.
func listenTCP(port *int, what string) (net.Listener, error) {
	if *port == 0 {
		*port = stablePort()
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return nil, fmt.Errorf("%s on 127.0.0.1:%d: %w (another program holds the port; stop it or use a new --dir)", what, *port, err)
	}
	*port = ln.Addr().(*net.TCPAddr).Port
	return ln, nil
}

func listenUDP(port *int, what string) (*net.UDPConn, error) {
	if *port == 0 {
		*port = stablePort()
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		return nil, fmt.Errorf("%s on UDP 127.0.0.1:%d: %w (another program holds the port; stop it or use a new --dir)", what, *port, err)
	}
	*port = c.LocalAddr().(*net.UDPAddr).Port
	return c, nil
}
