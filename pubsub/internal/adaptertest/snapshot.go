package adaptertest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/seance-go/seance/cluster"
)

// RunSnapshotStoreConformance runs, as subtests of t, the behaviour every
// cluster.SnapshotStore must have, on a store of its own.
func RunSnapshotStoreConformance(t *testing.T, newStore func(t *testing.T) cluster.SnapshotStore) {
	t.Run("SaveLoad", func(t *testing.T) { testSnapshotSaveLoad(t, newStore(t)) })
	t.Run("Fenced", func(t *testing.T) { testSnapshotFenced(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testSnapshotConcurrent(t, newStore(t)) })
}

// testSnapshotSaveLoad: nothing is stored at first; a saved snapshot is
// loaded as it was (binary data included); a later one replaces it.
func testSnapshotSaveLoad(t *testing.T, s cluster.SnapshotStore) {
	ctx := leaseCtx(t)
	if _, ok, err := s.Load(ctx, "board:1"); err != nil || ok {
		t.Fatalf("Load of a name never saved: ok %v, %v", ok, err)
	}
	want := cluster.Snapshot{Token: 3, Version: 41, Data: []byte("{\"n\":1,\"bin\":\"\x00\xff\"}")}
	if err := s.Save(ctx, "board:1", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load(ctx, "board:1")
	if err != nil || !ok || got.Token != want.Token || got.Version != want.Version || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("Load = %+v %v %v, want %+v", got, ok, err, want)
	}
	next := cluster.Snapshot{Token: 3, Version: 42, Data: []byte(`{"n":2}`)}
	if err := s.Save(ctx, "board:1", next); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Load(ctx, "board:1"); got.Version != 42 || string(got.Data) != `{"n":2}` {
		t.Fatalf("after a second Save: %+v", got)
	}
	if _, ok, _ := s.Load(ctx, "board:2"); ok {
		t.Fatal("another name has a snapshot")
	}
}

// testSnapshotFenced: a snapshot of an older token does not replace one of
// a newer token (a stale owner's late write); a newer token's does.
func testSnapshotFenced(t *testing.T, s cluster.SnapshotStore) {
	ctx := leaseCtx(t)
	if err := s.Save(ctx, "board:1", cluster.Snapshot{Token: 5, Version: 10, Data: []byte(`"new"`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "board:1", cluster.Snapshot{Token: 4, Version: 99, Data: []byte(`"stale"`)}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Load(ctx, "board:1"); got.Token != 5 || string(got.Data) != `"new"` {
		t.Fatalf("a stale owner's snapshot replaced the newer one: %+v", got)
	}
	if err := s.Save(ctx, "board:1", cluster.Snapshot{Token: 6, Version: 1, Data: []byte(`"next"`)}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Load(ctx, "board:1"); got.Token != 6 || string(got.Data) != `"next"` {
		t.Fatalf("the next owner's snapshot was not stored: %+v", got)
	}
}

// testSnapshotConcurrent: writers of several tokens at once leave the
// snapshot of the greatest token.
func testSnapshotConcurrent(t *testing.T, s cluster.SnapshotStore) {
	ctx := leaseCtx(t)
	var wg sync.WaitGroup
	for tok := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range 5 {
				if err := s.Save(ctx, "board:1", cluster.Snapshot{Token: uint64(tok + 1), Version: v, Data: fmt.Appendf(nil, "%d", tok+1)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got, _, _ := s.Load(ctx, "board:1"); got.Token != 8 || string(got.Data) != "8" {
		t.Fatalf("after concurrent saves: %+v, want token 8's", got)
	}
}
