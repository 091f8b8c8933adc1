package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Requests go to each backend in turn; a backend that fails is skipped.
func TestRoundRobin(t *testing.T) {
	var hits []string
	mk := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits = append(hits, name)
			io.WriteString(w, name)
		}))
	}
	a, b := mk("a"), mk("b")
	defer a.Close()
	defer b.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	lb, err := newBalancer([]string{a.URL, b.URL, dead.URL})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(lb)
	defer front.Close()
	get := func() int {
		resp, err := http.Get(front.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := []int{get(), get(), get(), get(), get(), get()}
	// a, b, dead (502, then skipped), a, b, a.
	want := []int{200, 200, 502, 200, 200, 200}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses %v, want %v", codes, want)
		}
	}
	if got := len(hits); got != 5 {
		t.Errorf("backends served %d requests (%v), want 5", got, hits)
	}
	if hits[0] == hits[1] || hits[2] == hits[3] {
		t.Errorf("not alternating: %v", hits)
	}
}
