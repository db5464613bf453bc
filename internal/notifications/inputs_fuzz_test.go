package notifications_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/notifications"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzDecodeNotificationsInput decodes PUT /notifications' body.
func FuzzDecodeNotificationsInput(f *testing.F) {
	for _, seed := range []string{
		`{"events":[{"name":"run.failed","enabled":true,"addresses":["ops@acme.test"]}]}`,
		`{"events":[{"name":"tenant.created","enabled":false}]}`,
		`{"events":[]}`, `{"events":null}`, `{"events":[{"addresses":"x"}]}`, `{"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzcheck.Decode[notifications.Input](t, body)
	})
}
