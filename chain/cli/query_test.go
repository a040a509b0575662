package cli

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hexproof/hexproof/chain/client"
)

// TestQueryPaths checks the abci_query path each query subcommand sends,
// against an RPC endpoint that records it (the application's answers are
// tested in chain/app; the whole path through a node in e2e_test.go).
func TestQueryPaths(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Params struct {
				Path string `json:"path"`
			} `json:"params"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		got = req.Params.Path
		value := base64.StdEncoding.EncodeToString([]byte(`{"epoch":3,"total":0,"offset":0,"rewards":[],"next_offset":0}`))
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"response": map[string]any{"code": 0, "value": value, "height": "9"}}})
	}))
	defer srv.Close()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"epoch-rewards", "3"}, client.PathEpochHotspotRewards + "?epoch=3"},
		{[]string{"epoch-rewards", "3", "200"}, client.PathEpochHotspotRewards + "?epoch=3&offset=200"},
		{[]string{"epoch-rewards", "3", "200", "50"}, client.PathEpochHotspotRewards + "?epoch=3&limit=50&offset=200"},
		{[]string{"poc", "hxp1x"}, client.PathHotspotPoC + "?address=hxp1x"},
		{[]string{"rewards", "hxp1x", "3"}, client.PathRewards + "?address=hxp1x&epoch=3"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got = ""
			out, err := run(t, nil, append(append([]string{"query"}, tt.args...), "--node", srv.URL)...)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got != tt.want {
				t.Fatalf("path %q, want %q", got, tt.want)
			}
			if !strings.Contains(out, `"epoch": 3`) {
				t.Fatalf("output %s", out)
			}
		})
	}
}
