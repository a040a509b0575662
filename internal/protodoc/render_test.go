package protodoc

import (
	"strings"
	"testing"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestRenderListsEveryMessage(t *testing.T) {
	set := &descriptorpb.FileDescriptorSet{}
	files := []string{}
	for _, f := range []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(hexproofv1.File_hexproof_v1_common_proto),
		protodesc.ToFileDescriptorProto(hexproofv1.File_hexproof_v1_router_proto),
		protodesc.ToFileDescriptorProto(hexproofv1.File_hexproof_v1_poc_proto),
		protodesc.ToFileDescriptorProto(hexproofv1.File_hexproof_v1_tx_proto),
	} {
		set.File = append(set.File, f)
		files = append(files, f.GetName())
	}
	var sb strings.Builder
	if err := Render(&sb, set, "hexproof."); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"### service RouterService", "| Stream | stream StreamRequest | stream StreamResponse |", "### message Voucher", "| 6 | dc | uint64 |", "### enum TxAckStatus", "(oneof payload)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, f := range files {
		if !strings.Contains(out, "## "+f) {
			t.Errorf("output lacks file %s", f)
		}
	}
	sb.Reset()
	if err := Render(&sb, set, "other."); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sb.String(), "### message") {
		t.Error("files of other packages were rendered")
	}
}
