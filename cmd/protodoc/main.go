// Command protodoc turns a buf image on stdin into the Markdown wire
// reference on stdout: `buf build -o - | protodoc > docs/wire.md`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hexproof/hexproof/internal/protodoc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: buf build -o - | protodoc > docs/wire.md")
		os.Exit(2)
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "protodoc:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	b, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read image: %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("decode image (expected `buf build -o -` output): %w", err)
	}
	return protodoc.Render(out, &set, "hexproof.")
}
