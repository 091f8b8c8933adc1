package livestate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

// TestSocketParamLimitsReachLongPoll: the registry's long-poll transport
// takes Socket.ParamLimits unless LongPoll.ParamLimits is set.
func TestSocketParamLimitsReachLongPoll(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  livestate.Config
		want int // long-poll status for a query of 3 parameters
	}{
		{"socket limits", livestate.Config{Socket: handler.Options{ParamLimits: handler.ParamLimits{MaxParams: 2}}}, 403},
		{"long-poll's own", livestate.Config{
			Socket:   handler.Options{ParamLimits: handler.ParamLimits{MaxParams: 2}},
			LongPoll: longpoll.Options{ParamLimits: handler.ParamLimits{MaxParams: 3}},
		}, 410},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Engine = phx.Config{Logger: quietLogger()}
			reg := livestate.NewRegistry(tt.cfg)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				reg.Shutdown(ctx)
			})
			rec := httptest.NewRecorder()
			livestate.Handler(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket/longpoll?vsn=2.0.0&a=1&b=2", nil))
			var r struct{ Status int }
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Status != tt.want {
				t.Errorf("long-poll GET: %q, want status %d", rec.Body.Bytes(), tt.want)
			}
		})
	}
}
