// Package livestatetest helps authors of LiveState channels test them: it
// joins a topic of a [livestate.Registry] in-process (no sockets), sends
// events, mirrors the state the client would hold, and asserts on what the
// channel pushes, with failure messages that show the difference.
//
// It is the Go counterpart of live_state's LiveState.TestHelpers. The
// assertions wait for the expected message (up to Options.Timeout), so tests
// need no sleeps.
package livestatetest
