package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// floodChannel pushes {"i":n,"pad":…} events on "flood" until the session
// refuses one, and reports why its channels ended.
type floodChannel struct{ ended chan error }

func (floodChannel) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (floodChannel) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	var in struct {
		Size int `json:"size"`
	}
	if err := msg.Payload.Decode(&in); err != nil {
		return nil, err
	}
	pad := strings.Repeat("x", in.Size)
	for i := 0; ; i++ {
		if err := ch.Push("push", map[string]any{"i": i, "pad": pad}); err != nil {
			return nil, nil
		}
	}
}

func (f floodChannel) Terminate(_ context.Context, _ *phx.Channel, reason error) {
	select {
	case f.ended <- reason:
	default:
	}
}

// TestSlowConsumerCloseInNode: phoenix.js (1.7 and 1.8 over the ws package)
// stops reading until its outbound queue overflows on the server, then reads
// again: its socket's close event carries 1008 "slow consumer", after the
// pushes that were already sent, in order.
func TestSlowConsumerCloseInNode(t *testing.T) {
	node := requireNode(t)
	for _, pkg := range []string{"phoenix", "phoenix17"} {
		t.Run(pkg, func(t *testing.T) {
			ep := phx.NewEndpoint(phx.Config{QueueLength: 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			ended := make(chan error, 1)
			ep.Handle("flood:*", floodChannel{ended: ended})
			srv := httptest.NewServer(handler.New(ep, handler.Options{CloseTimeout: 30 * time.Second}))
			defer srv.Close()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := ep.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			}()

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "js/slow-consumer.mjs", "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket", pkg)
			cmd.Env = append(cmd.Environ(), "NODE_NO_WARNINGS=1")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr := &lineLogger{t: t}
			cmd.Stderr = stderr
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				stdin.Close()
				cmd.Wait()
				stderr.flush()
			}()
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || lines.Text() != "paused" {
				t.Fatalf("node: %q, want \"paused\" (%v)", lines.Text(), lines.Err())
			}
			select {
			case err := <-ended:
				if !errors.Is(err, phx.ErrSlowConsumer) {
					t.Fatalf("channel ended with %v, want ErrSlowConsumer", err)
				}
			case <-ctx.Done():
				t.Fatal("the server never gave up on the paused client")
			}
			io.WriteString(stdin, "resume\n")
			if !lines.Scan() {
				t.Fatalf("node printed no result: %v", lines.Err())
			}
			var got struct {
				Code     int
				Reason   string
				Received int
				Corrupt  *string
			}
			if err := json.Unmarshal(lines.Bytes(), &got); err != nil {
				t.Fatalf("node: %q: %v", lines.Text(), err)
			}
			if got.Code != 1008 || got.Reason != "slow consumer" {
				t.Errorf("close event %d %q after %d pushes, want 1008 \"slow consumer\"", got.Code, got.Reason, got.Received)
			}
			if got.Corrupt != nil {
				t.Errorf("pushes out of order: %s", *got.Corrupt)
			}
			if got.Received == 0 {
				t.Error("no push was read before the close")
			}
		})
	}
}
