package protodoc

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/descriptorpb"
)

// Render writes the Markdown reference of the files in set whose package
// starts with pkgPrefix.
func Render(w io.Writer, set *descriptorpb.FileDescriptorSet, pkgPrefix string) error {
	files := make([]*descriptorpb.FileDescriptorProto, 0, len(set.GetFile()))
	for _, f := range set.GetFile() {
		if strings.HasPrefix(f.GetPackage(), pkgPrefix) {
			files = append(files, f)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].GetName() < files[j].GetName() })
	var b strings.Builder
	b.WriteString("# Wire reference\n\n")
	b.WriteString("Generated from `proto/` by `make proto` (internal/protodoc); do not edit by hand.\n")
	b.WriteString("Integer units are in the field names (`_hz`, `_dbm`, `_cb` = centibels, `_ms`, `_ddbi` = deci-dBi).\n")
	b.WriteString("Public keys and addresses travel as 32 raw ed25519 bytes.\n\n")
	for _, f := range files {
		c := comments(f)
		fmt.Fprintf(&b, "## %s\n\nPackage `%s`.\n\n", f.GetName(), f.GetPackage())
		for i, s := range f.GetService() {
			fmt.Fprintf(&b, "### service %s\n\n", s.GetName())
			writeComment(&b, c[key(6, i)])
			b.WriteString("| rpc | request | response | description |\n|---|---|---|---|\n")
			for j, m := range s.GetMethod() {
				req, resp := short(m.GetInputType()), short(m.GetOutputType())
				if m.GetClientStreaming() {
					req = "stream " + req
				}
				if m.GetServerStreaming() {
					resp = "stream " + resp
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.GetName(), req, resp, cell(c[key(6, i, 2, j)]))
			}
			b.WriteString("\n")
		}
		for i, m := range f.GetMessageType() {
			writeMessage(&b, m, c, []int32{4, int32(i)}, "")
		}
		for i, e := range f.GetEnumType() {
			writeEnum(&b, e, c, []int32{5, int32(i)}, "")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMessage(b *strings.Builder, m *descriptorpb.DescriptorProto, c map[string]string, path []int32, parent string) {
	name := parent + m.GetName()
	fmt.Fprintf(b, "### message %s\n\n", name)
	writeComment(b, c[key32(path)])
	if len(m.GetField()) > 0 {
		b.WriteString("| # | field | type | description |\n|---|---|---|---|\n")
		for i, f := range m.GetField() {
			t := fieldType(f)
			if f.GetLabel() == descriptorpb.FieldDescriptorProto_LABEL_REPEATED {
				t = "repeated " + t
			}
			if f.OneofIndex != nil {
				t += " (oneof " + m.GetOneofDecl()[f.GetOneofIndex()].GetName() + ")"
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s |\n", f.GetNumber(), f.GetName(), t, cell(c[key32(append(append([]int32{}, path...), 2, int32(i)))]))
		}
		b.WriteString("\n")
	}
	for i, n := range m.GetNestedType() {
		writeMessage(b, n, c, append(append([]int32{}, path...), 3, int32(i)), name+".")
	}
	for i, e := range m.GetEnumType() {
		writeEnum(b, e, c, append(append([]int32{}, path...), 4, int32(i)), name+".")
	}
}

func writeEnum(b *strings.Builder, e *descriptorpb.EnumDescriptorProto, c map[string]string, path []int32, parent string) {
	fmt.Fprintf(b, "### enum %s\n\n", parent+e.GetName())
	writeComment(b, c[key32(path)])
	b.WriteString("| value | name | description |\n|---|---|---|\n")
	for i, v := range e.GetValue() {
		fmt.Fprintf(b, "| %d | %s | %s |\n", v.GetNumber(), v.GetName(), cell(c[key32(append(append([]int32{}, path...), 2, int32(i)))]))
	}
	b.WriteString("\n")
}

func fieldType(f *descriptorpb.FieldDescriptorProto) string {
	if n := f.GetTypeName(); n != "" {
		return short(n)
	}
	return strings.ToLower(strings.TrimPrefix(f.GetType().String(), "TYPE_"))
}

func short(full string) string {
	full = strings.TrimPrefix(full, ".")
	if i := strings.LastIndex(full, ".v1."); i >= 0 {
		return full[i+4:]
	}
	return full
}

func comments(f *descriptorpb.FileDescriptorProto) map[string]string {
	out := map[string]string{}
	for _, l := range f.GetSourceCodeInfo().GetLocation() {
		if t := strings.TrimSpace(l.GetLeadingComments()); t != "" {
			out[key32(l.GetPath())] = t
		}
	}
	return out
}

func key(p ...int) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ".")
}

func key32(p []int32) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ".")
}

func writeComment(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	b.WriteString(strings.Join(strings.Fields(s), " "))
	b.WriteString("\n\n")
}

func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", "\\|")
}
