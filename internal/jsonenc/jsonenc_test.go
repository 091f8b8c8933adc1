package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `q"b\s`, "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f", "<a href='x'>&</a>",
		"é ü 😀", "line\u2028sep\u2029", "bad\xffutf8\xc3", "~1/0"}
	ascii := make([]byte, 128) // every ASCII byte
	for i := range ascii {
		ascii[i] = byte(i)
	}
	cases = append(cases, string(ascii))
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s, true); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q, html) = %s, want %s", s, got, want)
		}
		if n := StringLen(s); n != len(want) {
			t.Errorf("StringLen(%q) = %d, want %d", s, n, len(want))
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got := AppendString(nil, s, false); !bytes.Equal(got, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, buf.Bytes())
		}
	}
}
