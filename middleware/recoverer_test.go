package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecovererAnswers500(t *testing.T) {
	logs := make(records, 10)
	h := Recoverer(slog.New(logs))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x?secret=1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d", rec.Code)
	}
	r := <-logs
	a := attrs(r)
	if r.Level != slog.LevelError || a["panic"].String() != "boom" || a["path"].String() != "/x" ||
		!strings.Contains(a["stack"].String(), "recoverer_test.go") {
		t.Errorf("log: %v %v", r.Message, a)
	}
}

func TestRecovererAbortsStartedResponse(t *testing.T) {
	h := Recoverer(slog.New(make(records, 10)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		panic("late")
	}))
	if p := servePanics(h); p != http.ErrAbortHandler {
		t.Errorf("panic %v, want http.ErrAbortHandler", p)
	}
}

func TestRecovererPassesErrAbortHandler(t *testing.T) {
	logs := make(records, 10)
	wrapped := errors.Join(http.ErrAbortHandler)
	for _, p := range []any{http.ErrAbortHandler, wrapped} {
		h := Recoverer(slog.New(logs))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(p) }))
		if got := servePanics(h); got != p {
			t.Errorf("panic %v, want %v", got, p)
		}
	}
	if len(logs) != 0 {
		t.Error("ErrAbortHandler was logged")
	}
}

func TestRecovererWithoutPanic(t *testing.T) {
	h := Recoverer(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusCreated {
		t.Errorf("status %d", rec.Code)
	}
}

func servePanics(h http.Handler) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	return nil
}
