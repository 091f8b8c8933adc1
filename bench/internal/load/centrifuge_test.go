package load

import "testing"

// TestCfAnswered: a round trip to the peer ends on the reply carrying its
// command's id, whatever else shares the frame; an error reply ends it with
// the error.
func TestCfAnswered(t *testing.T) {
	push := `{"push":{"channel":"room","pub":{"data":{"seq":1}}}}`
	for _, c := range []struct {
		frame   string
		done    bool
		wantErr bool
	}{
		{`{"id":5,"rpc":{"data":{"count":1}}}`, true, false},
		{push + "\n" + `{"id":5,"rpc":{}}`, true, false},
		{`{"id":4,"rpc":{}}`, false, false},
		{push, false, false},
		{`{}`, false, false}, // a server ping
		{`{"id":5,"error":{"code":104,"message":"method not found"}}`, true, true},
	} {
		done, err := cfAnswered([]byte(c.frame), 5)
		if done != c.done || (err != nil) != c.wantErr {
			t.Errorf("cfAnswered(%s) = %v, %v", c.frame, done, err)
		}
	}
	if wsPath(Centrifuge) != "/connection/websocket" || wsPath("ours") != "/socket/websocket?vsn=2.0.0" {
		t.Errorf("wsPath: %q, %q", wsPath(Centrifuge), wsPath("ours"))
	}
}
