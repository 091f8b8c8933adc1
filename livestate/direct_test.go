package livestate_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/seance-go/seance/livestate"
)

// wrappedDialect is a MessageBuilder that is not a Dialect, so that the
// state's updates take the general path (Dialect.Patch on the patch).
type wrappedDialect struct{ livestate.Dialect }

// TestDirectPatchSameBytes: the patches a Dialect writes straight into a
// pooled buffer are byte for byte those of the general path, event after
// event (a later event must not change an earlier frame either).
func TestDirectPatchSameBytes(t *testing.T) {
	events := [][2]string{{"noop", `{}`}}
	for i := range 12 {
		events = append(events, [2]string{"add", `{"title":"item ` + strconv.Itoa(i) + ` <&>"}`})
		events = append(events, [2]string{"toggle", `{"id":` + strconv.Itoa(i/2+1) + `}`})
	}
	run := func(d livestate.MessageBuilder, prefix string) []string {
		_, c, _ := setup(t, livestate.Options{Messages: d})
		c.send(`["1","1","todo:1","phx_join",{"todos":3}]`)
		c.nextFrame() // the join reply
		c.nextFrame() // the state
		var frames [][]byte
		for _, e := range events {
			c.push("todo:1", prefix+e[0], e[1])
			frames = append(frames, c.nextFrame().Data)
		}
		out := make([]string, len(frames))
		for i, f := range frames {
			out[i] = string(f)
		}
		return out
	}
	for _, d := range []livestate.Dialect{livestate.LiveStateDialect(), livestate.SeanceDialect()} {
		direct, general := run(d, d.EventPrefix), run(wrappedDialect{d}, d.EventPrefix)
		if len(direct) == 0 || !strings.Contains(direct[len(direct)-1], `"`+d.PatchEvent+`",{"`+d.PatchKey+`":[{`) {
			t.Fatalf("%s: the last frame is not a patch: %v", d.PatchEvent, direct)
		}
		for i := range direct {
			if direct[i] != general[i] {
				t.Fatalf("%s, event %d: direct %s, general %s", d.PatchEvent, i, direct[i], general[i])
			}
		}
	}
}
