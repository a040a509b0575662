package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/testsvc"
)

// writeCert creates a key and a certificate signed by parent (self-signed
// when parent is nil) and writes both as PEM files.
func writeCert(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// The bridge talks TLS with a private CA and a client certificate.
func TestTLSBroker(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, caKey := writeCert(t, dir, "ca", &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil, nil)
	writeCert(t, dir, "server", &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	writeCert(t, dir, "client", &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	broker := testkit.StartBroker(t, fmt.Sprintf("cafile %[1]s/ca.pem\ncertfile %[1]s/server.pem\nkeyfile %[1]s/server.key\nrequire_certificate true", dir))
	server := fmt.Sprintf("ssl://127.0.0.1:%d", broker.Port)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(server).SetClientID("tls-sub").
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber over TLS: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	prefix := testsvc.TopicPrefix(t)
	ch := collect(t, sub, prefix+"gateway/+/state/conn")

	addr, _, _ := startBridge(t, "--mqtt-server", server, "--topic-prefix", prefix,
		"--mqtt-ca-cert", filepath.Join(dir, "ca.pem"), "--mqtt-tls-cert", filepath.Join(dir, "client.pem"), "--mqtt-tls-key", filepath.Join(dir, "client.key"))
	g := testkit.NewGateway(t, addr, testkit.EUIFor(0x715), 2)
	g.ExpectAck(gwmp.TypePullAck, g.Pull())
	var cs gw.ConnState
	if err := proto.Unmarshal(next(t, ch, prefix+"gateway/"+g.EUI.String()+"/state/conn"), &cs); err != nil || cs.State != gw.ConnState_ONLINE {
		t.Fatalf("state over TLS: %v %v", &cs, err)
	}
}

// A broker whose certificate the configured CA did not sign is refused;
// the bridge keeps retrying and keeps serving UDP.
func TestTLSBrokerWrongCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, caKey := writeCert(t, dir, "ca", &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil, nil)
	writeCert(t, dir, "server", &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	other := t.TempDir()
	writeCert(t, other, "ca", &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "other ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	broker := testkit.StartBroker(t, fmt.Sprintf("cafile %[1]s/ca.pem\ncertfile %[1]s/server.pem\nkeyfile %[1]s/server.key", dir))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	metrics := ln.Addr().String()
	ln.Close()
	addr, _, _ := startBridge(t, "--mqtt-server", fmt.Sprintf("ssl://127.0.0.1:%d", broker.Port), "--mqtt-ca-cert", filepath.Join(other, "ca.pem"),
		"--metrics-bind", metrics, "--shutdown-timeout", "200ms")
	g := testkit.NewGateway(t, addr, testkit.EUIFor(0x716), 2)
	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0}, 1)}}))
	time.Sleep(500 * time.Millisecond)
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "firmware_bridge_mqtt_connects_total 0") || !strings.Contains(string(body), "firmware_bridge_mqtt_queue_depth 1") {
		t.Fatalf("bridge connected to a broker its CA did not sign, or lost the uplink:\n%s", body)
	}
}
