package proto

import (
	"encoding/json"
	"testing"
)

// TestCfCommands: the commands are the JSON objects of centrifuge's client
// protocol.
func TestCfCommands(t *testing.T) {
	for _, c := range []struct {
		got  []byte
		want string
	}{
		{CfConnect(1), `{"id":1,"connect":{"name":"seance-bench"}}`},
		{CfSubscribe(2, `room:"x"`), `{"id":2,"subscribe":{"channel":"room:\"x\""}}`},
		{CfRPC(17), `{"id":17,"rpc":{"method":"increment"}}`},
	} {
		if string(c.got) != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
		if !json.Valid(c.got) {
			t.Errorf("%s is not JSON", c.got)
		}
	}
}

// TestCfReplies: a frame may carry several replies and pushes, one per
// line; a refused command carries its error.
func TestCfReplies(t *testing.T) {
	frame := []byte(`{"id":1,"connect":{"client":"c","version":"0.40.1"}}` + "\n" +
		`{"push":{"channel":"room","pub":{"data":{"seq":3}}}}` + "\n" +
		`{"id":2,"error":{"code":103,"message":"permission denied"}}` + "\n")
	rs, err := CfReplies(frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].ID != 1 || len(rs[0].Error) != 0 || rs[1].ID != 0 || rs[2].ID != 2 || len(rs[2].Error) == 0 {
		t.Fatalf("CfReplies = %+v", rs)
	}
	if _, err := CfReplies([]byte("{\"id\":1}\nnot json")); err == nil {
		t.Error("a line that is not JSON gave no error")
	}
}
