package gwmp

import (
	"encoding"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func seeds(f *testing.F) {
	push := append([]byte{2, 0, 1, 0}, gwID[:]...)
	f.Add(append(push, `{"rxpk":[{"tmst":1,"time":"2026-11-22T01:02:03.5Z","freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-35,"lsnr":5.1,"size":2,"data":"AQI="}]}`...))
	f.Add(append(push, `{"stat":{"time":"2014-01-12 08:59:28 GMT","rxnb":2,"ackr":100.0}}`...))
	f.Add(append(push, `{"rxpk":[{"modu":"FSK","datr":50000,"data":"","rsig":[{"ant":1,"rssic":-70,"etime":"AQ"}]}]}`...))
	f.Add([]byte{2, 0, 1, 1})
	f.Add(append([]byte{2, 0, 1, 2}, gwID[:]...))
	f.Add([]byte(`` + "\x02\x00\x01\x03" + `{"txpk":{"imme":true,"freq":869.525,"powe":14,"modu":"LORA","datr":"SF9BW125","codr":"4/5","ipol":true,"size":1,"data":"AQ=="}}`))
	f.Add([]byte{2, 0, 1, 4})
	f.Add(append(append([]byte{2, 0, 1, 5}, gwID[:]...), `{"txpk_ack":{"error":"TOO_LATE"}}`...))
}

// fuzzRoundTrip checks that dec never panics and that whatever it accepts
// encodes and decodes back to the same value.
func fuzzRoundTrip[T any, PT interface {
	*T
	encoding.BinaryUnmarshaler
	encoding.BinaryMarshaler
}](t *testing.T, b []byte) {
	var v T
	if err := PT(&v).UnmarshalBinary(b); err != nil {
		return
	}
	out, err := PT(&v).MarshalBinary()
	if err != nil {
		return // e.g. a time outside what JSON can carry
	}
	var again T
	if err := PT(&again).UnmarshalBinary(out); err != nil {
		t.Fatalf("re-decode of %q: %v", out, err)
	}
	if d := cmp.Diff(v, again, cmpTimes, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("unstable round trip (-first +second):\n%s", d)
	}
}

func FuzzParseHeader(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err == nil && (len(b) < 4 || h.Type > TypeTxAck) {
			t.Fatalf("accepted %x as %+v", b, h)
		}
	})
}

func FuzzPushData(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip[PushData](t, b) })
}

func FuzzPullData(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip[PullData](t, b) })
}

func FuzzAck(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip[Ack](t, b) })
}

func FuzzPullResp(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip[PullResp](t, b) })
}

func FuzzTxAck(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip[TxAck](t, b) })
}

// The fast PUSH_DATA decoder either gives up or agrees with encoding/json.
func FuzzPushDataFastMatchesJSON(f *testing.F) {
	f.Add([]byte(`{"rxpk":[{"tmst":1,"time":"2026-11-22T01:02:03.5Z","tmms":5,"ftime":7,"freq":868.1,"chan":2,"rfch":1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-35,"rssis":-40,"lsnr":5.1,"foff":-12,"size":2,"data":"AQI=","brd":1,"ant":0,"jver":1,"mid":[1,{"a":true}]}]}`))
	f.Add([]byte(`{"stat":{"time":"2014-01-12 08:59:28 GMT","lati":1.5,"long":-2e1,"alti":3,"rxnb":2,"rxok":1,"rxfw":1,"ackr":100.0,"dwnb":0,"txnb":0,"temp":30}}`))
	f.Add([]byte(`{"rxpk":[{"modu":"FSK","datr":50000,"data":"AQ"}],"RXPK":[]}`))
	f.Add([]byte(`{"rxpk":[{"Tmst":5,"data":"\/w=="}]}`))
	f.Add([]byte(`{"rxpk":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodePushDataFast(b)
		if !ok {
			return
		}
		var slow PushDataPayload
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast decoder accepted what encoding/json rejects (%v): %q", err, b)
		}
		if d := cmp.Diff(slow, fast, cmpTimes, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("fast and encoding/json differ on %q (-json +fast):\n%s", b, d)
		}
	})
}
