package world

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Read decodes and validates a world file.
func Read(r io.Reader) (*World, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var w World
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode world: %w", err)
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	return &w, nil
}

// Write encodes the world as indented JSON.
func (w *World) Write(out io.Writer) error {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("encode world: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// Load reads a world file.
func Load(path string) (*World, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open world file: %w", err)
	}
	defer f.Close()
	w, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Save writes the world file atomically (temporary file, then rename).
func (w *World) Save(path string) error {
	var buf bytes.Buffer
	if err := w.Write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".world-*.json")
	if err != nil {
		return fmt.Errorf("save world: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("save world: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save world: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save world: %w", err)
	}
	return nil
}
