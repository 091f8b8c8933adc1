package bigstate

import (
	"encoding/json"
	"testing"
)

func TestSize(t *testing.T) {
	s := New(1 << 20)
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 900<<10 || len(b) > 1200<<10 {
		t.Fatalf("state is %d bytes, want about 1 MiB", len(b))
	}
}
