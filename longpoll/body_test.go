package longpoll

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type inFrame struct {
	Data   string
	Binary bool
}

func frames(t *testing.T, body string, ndjson bool) ([]inFrame, error) {
	t.Helper()
	var out []inFrame
	err := eachFrame([]byte(body), ndjson, func(data []byte, binary bool) error {
		out = append(out, inFrame{string(data), binary})
		return nil
	})
	return out, err
}

func TestEachFrame(t *testing.T) {
	bin := base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4, 5, 6})
	tests := []struct {
		name   string
		body   string
		ndjson bool
		want   []inFrame
		err    error
	}{
		{"one line", `[null,"1","phoenix","heartbeat",{}]`, true, []inFrame{{`[null,"1","phoenix","heartbeat",{}]`, false}}, nil},
		{"two lines", "[1]\n[2]", true, []inFrame{{"[1]", false}, {"[2]", false}}, nil},
		{"crlf and trailing newline", "[1]\r\n[2]\r\n", true, []inFrame{{"[1]", false}, {"[2]", false}}, nil},
		{"empty lines skipped", "\n\n[1]\n\n", true, []inFrame{{"[1]", false}}, nil},
		{"v1 object line", `{"topic":"t"}`, true, []inFrame{{`{"topic":"t"}`, false}}, nil},
		{"binary line", "[1]\n" + bin, true, []inFrame{{"[1]", false}, {"\x00\x01\x02\x03\x04\x05\x06", true}}, nil},
		{"unpadded binary", base64.RawStdEncoding.EncodeToString([]byte{9, 8}), true, []inFrame{{"\x09\x08", true}}, nil},
		{"bad base64", "[1]\n!!!!\n[2]", true, []inFrame{{"[1]", false}}, errBadLine},
		{"not ndjson: whole body", "[1]\n[2]", false, []inFrame{{"[1]\n[2]", false}}, nil},
		{"not ndjson: empty", "", false, nil, nil},
		{"ndjson: empty", "", true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := frames(t, tt.body, tt.ndjson)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("frames (-want +got):\n%s", d)
			}
		})
	}
}

func TestEachFrameStopsAtError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := eachFrame([]byte("[1]\n[2]\n[3]"), true, func([]byte, bool) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err %v after %d frames", err, n)
	}
}

func TestIsNDJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/x-ndjson":                true,
		"application/x-ndjson; charset=utf-8": true,
		"Application/X-NDJSON":                true,
		"application/json":                    false,
		"text/plain;charset=UTF-8":            false,
		"":                                    false,
	} {
		if got := isNDJSON(ct); got != want {
			t.Errorf("isNDJSON(%q) = %v", ct, got)
		}
	}
}

// FuzzEachFrame checks that any body splits without panicking, that text
// frames are exactly the non-empty lines starting with '[' or '{', and that
// binary frames re-encode to their line.
func FuzzEachFrame(f *testing.F) {
	f.Add([]byte(`["1","1","room:a","phx_join",{}]`), true)
	f.Add([]byte("[1]\r\n\r\nAAEC\n{\"a\":1}\n"), true)
	f.Add([]byte("AAECAw=="), true)
	f.Add([]byte("not base64!"), true)
	f.Add([]byte("[1]\n[2]"), false)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		var lines [][]byte
		if ndjson {
			for _, l := range bytes.Split(body, []byte("\n")) {
				if l = bytes.TrimSuffix(l, []byte("\r")); len(l) > 0 {
					lines = append(lines, l)
				}
			}
		} else if len(body) > 0 {
			lines = [][]byte{body}
		}
		i := 0
		err := eachFrame(body, ndjson, func(data []byte, binary bool) error {
			if i >= len(lines) {
				t.Fatalf("more frames than lines")
			}
			line := lines[i]
			i++
			if !binary {
				if !bytes.Equal(data, line) {
					t.Fatalf("text frame %q, line %q", data, line)
				}
				if ndjson && line[0] != '[' && line[0] != '{' {
					t.Fatalf("line %q taken as text", line)
				}
				return nil
			}
			if line[0] == '[' || line[0] == '{' {
				t.Fatalf("line %q taken as binary", line)
			}
			if got := base64.RawStdEncoding.EncodeToString(data); !bytes.Equal(bytes.TrimRight(bytes.NewBufferString(got).Bytes(), "="), bytes.TrimRight(stripSpaceCR(line), "=")) {
				t.Fatalf("binary frame %x does not re-encode to %q", data, line)
			}
			return nil
		})
		if err == nil && i != len(lines) {
			t.Fatalf("%d frames for %d lines", i, len(lines))
		}
		if err != nil && !errors.Is(err, errBadLine) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// stripSpaceCR drops the '\r' bytes Go's base64 decoder ignores inside a
// line.
func stripSpaceCR(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r"), nil) }
