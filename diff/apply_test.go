package diff

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/seance-go/seance/internal/jsonpatch"
)

// applyPatch applies patch (JSON text) with the project's strict RFC 6902
// applier, the oracle for the differs' patches. An empty patch (len 0) is
// no change. It never modifies doc.
func applyPatch(doc any, patch []byte) (any, error) {
	if len(patch) == 0 {
		return deepCopy(doc), nil
	}
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("patch is not a JSON array: %.40q", patch)
	}
	ops, err := jsonpatch.Parse(patch)
	if err != nil {
		return nil, err
	}
	return jsonpatch.Apply(doc, ops)
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		if v == nil {
			return v
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// normalize rewrites numbers as json.Number holding the text encoding/json
// writes for them, and nil containers as nil, so that trees compare by
// their JSON meaning.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return nil
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = normalize(x)
		}
		return m
	case []any:
		if v == nil {
			return nil
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = normalize(x)
		}
		return s
	case float64:
		return json.Number(appendFloat(nil, v))
	case json.Number:
		return json.Number(numberText(v))
	}
	return v
}
