package load

import (
	"fmt"

	"github.com/seance-go/seance/bench/internal/proto"
)

// Centrifuge is the kind of the same-run peer (bench-centrifuge).
const Centrifuge = "centrifuge"

// wsPath is the WebSocket path of a kind of server.
func wsPath(kind string) string {
	if kind == Centrifuge {
		return proto.CfPath
	}
	return "/socket/websocket?vsn=2.0.0"
}

// cfJoin connects to the peer and subscribes to channel: command ids 1 and
// 2, each waited for.
func cfJoin(write func([]byte) error, read func() ([]byte, error), channel string) error {
	for id, cmd := range [][]byte{proto.CfConnect(1), proto.CfSubscribe(2, channel)} {
		if err := write(cmd); err != nil {
			return err
		}
		if err := cfAwait(read, id+1); err != nil {
			return err
		}
	}
	return nil
}

// cfAwait reads frames until the reply to command id.
func cfAwait(read func() ([]byte, error), id int) error {
	for {
		data, err := read()
		if err != nil {
			return err
		}
		done, err := cfAnswered(data, id)
		if done || err != nil {
			return err
		}
	}
}

// cfAnswered reports whether frame data holds the reply to command id,
// and the error the server answered with.
func cfAnswered(data []byte, id int) (bool, error) {
	rs, err := proto.CfReplies(data)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.ID != id {
			continue
		}
		if len(r.Error) > 0 {
			return true, fmt.Errorf("centrifuge refused command %d: %s", id, r.Error)
		}
		return true, nil
	}
	return false, nil
}
