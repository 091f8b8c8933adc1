package handler_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

func TestParseParams(t *testing.T) {
	tests := []struct {
		query string
		want  map[string]any
	}{
		{"token=abc", map[string]any{"token": "abc"}},
		{"user[name]=x", map[string]any{"user": map[string]any{"name": "x"}}},
		{"user%5Bname%5D=x&user%5Bid%5D=7", map[string]any{"user": map[string]any{"name": "x", "id": "7"}}},
		{"ids[]=1&ids[]=2", map[string]any{"ids": []any{"1", "2"}}},
		{"a[b][c]=1", map[string]any{"a": map[string]any{"b": map[string]any{"c": "1"}}}},
		{"a[b][c]=1&a[b][d]=2&a[e]=3", map[string]any{"a": map[string]any{"b": map[string]any{"c": "1", "d": "2"}, "e": "3"}}},
		{"a[b][]=1&a[b][]=2", map[string]any{"a": map[string]any{"b": []any{"1", "2"}}}},
		{"x=1&x=2&x=3", map[string]any{"x": "3"}},                        // last wins
		{"u[n]=1&u[n]=2", map[string]any{"u": map[string]any{"n": "2"}}}, // last wins, nested
		{"a[b=1", map[string]any{"a[b": "1"}},                            // unbalanced: kept as is
		{"a]=1", map[string]any{"a]": "1"}},
		{"a[b]c=1", map[string]any{"a[b]c": "1"}},
		{"[x]=1", map[string]any{"[x]": "1"}},
		{"a[]b=1", map[string]any{"a[]b": "1"}},
		{"empty=", map[string]any{"empty": ""}},
		{"a=1&a[b]=2", map[string]any{"a": map[string]any{"b": "2"}}}, // bracket key wins, deterministically
		{"a[b]=2&a=1", map[string]any{"a": map[string]any{"b": "2"}}},
		{"vsn=2.0.0", map[string]any{"vsn": "2.0.0"}},
		{"", map[string]any{}},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		for i := 0; i < 20; i++ { // map order must not matter
			if d := cmp.Diff(tt.want, handler.ParseParams(q)); d != "" {
				t.Fatalf("ParseParams(%s) (-want +got)\n%s", tt.query, d)
			}
		}
	}
}

// TestConnectorOpen: the connect step shared with long-poll.
func TestConnectorOpen(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	c := handler.Connector{Endpoint: ep}
	tests := []struct {
		target  string
		status  int
		version string
	}{
		{"/socket/longpoll?vsn=2.0.0", 0, "2.0.0"},
		{"/socket/longpoll?vsn=2.0.1&vsn=1.0.0", 0, "1.0.0"}, // last vsn wins, as every other param
		{"/socket/longpoll", 0, "1.0.0"},
		{"/socket/longpoll?vsn=3.0.0", 403, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		sess, status, err := c.Open(r, "longpoll", "tok", false)
		if status != tt.status || (err == nil) != (tt.status == 0) {
			t.Errorf("%s: status %d, err %v; want %d", tt.target, status, err, tt.status)
			continue
		}
		if sess == nil {
			continue
		}
		if v := sess.Serializer().Version(); v != tt.version {
			t.Errorf("%s: serializer %s, want %s", tt.target, v, tt.version)
		}
		if info := sess.Info(); info.Transport != "longpoll" || info.AuthToken != "tok" {
			t.Errorf("%s: info %+v", tt.target, info)
		}
		sess.Detach()
	}
}
