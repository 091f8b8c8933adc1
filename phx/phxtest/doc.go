// Package phxtest helps authors of plain channels (any phx.Handler) test
// them in-process, as Phoenix.ChannelTest does for Elixir channels: connect
// a test socket to a [phx.Endpoint], join a topic, push events, and assert
// the replies, the pushes and the broadcasts the client receives, with
// failure messages that show the difference.
//
// There are no sockets and no sleeps: the test client reads what the
// session queued, waiting up to Options.Timeout for an expected message.
// Assertions match messages by kind and event, so unrelated messages in
// between do not disturb them; [Channel.AssertNoMessage] checks that nothing
// else was sent.
//
// LiveState channels have their own helper, livestate/livestatetest, which
// also mirrors the synced state.
package phxtest
