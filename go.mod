module github.com/seance-go/seance

go 1.24

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/websocket v1.5.3
	github.com/rs/cors v1.11.1
	github.com/wI2L/jsondiff v0.7.1
	go.uber.org/goleak v1.3.0
	gomodules.xyz/jsonpatch/v2 v2.5.0
)

require (
	github.com/tidwall/gjson v1.18.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
)
