package sourcecontrol_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
	"github.com/integration-hub/hub/internal/sourcecontrol"
)

// FuzzDecodeConnectInput decodes POST /source-control/connect's body.
func FuzzDecodeConnectInput(f *testing.F) {
	for _, seed := range []string{`{"provider":"github"}`, `{"provider":"azure_devops"}`, `{"provider":1}`, `{}`, `{"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzcheck.Decode[sourcecontrol.ConnectInput](t, body)
	})
}
