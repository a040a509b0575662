package dial

import "testing"

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		in     string
		target string
		tls    bool
		ok     bool
	}{
		{"127.0.0.1:9000", "127.0.0.1:9000", false, true},
		{"tls://router.example.com:443", "router.example.com:443", true, true},
		{"https://oracle.example.com", "oracle.example.com", true, true},
		{"http://oracle:8080", "oracle:8080", false, true},
		{"", "", false, false},
		{"https://x/y", "", false, false},
	} {
		target, tls, err := Target(tc.in)
		if (err == nil) != tc.ok || target != tc.target || tls != tc.tls {
			t.Errorf("%q: got %q %v %v", tc.in, target, tls, err)
		}
	}
}
