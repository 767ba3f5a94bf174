package results

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// WriteLines writes items to path as JSON Lines (one item a line, as
// encoding/json encodes it) compressed with gzip, atomically as Write
// writes a record: a failed or killed write leaves path as it was. Items
// are encoded one at a time: writing a long history holds one line in
// memory, not the whole file.
func WriteLines[T any](path string, items []T) error {
	return writeAtomic(path, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(zw, 64<<10)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i := range items {
			if err := enc.Encode(&items[i]); err != nil { // ends each with a newline
				return fmt.Errorf("line %d: %w", i+1, err)
			}
		}
		return errors.Join(bw.Flush(), zw.Close())
	})
}

// ReadLines reads the JSON Lines file WriteLines wrote at path, one item
// a line. An error names the file and the line.
func ReadLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("results: %s: not gzip-compressed JSON Lines: %w", path, err)
	}
	dec := json.NewDecoder(zr)
	var out []T
	for line := 1; ; line++ {
		var item T
		switch err := dec.Decode(&item); {
		case errors.Is(err, io.EOF):
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("results: %s: line %d: %w", path, line, err)
		}
		out = append(out, item)
	}
}
