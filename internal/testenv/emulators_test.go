package testenv_test

import (
	"net/http"
	"testing"

	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestEmulatorsStartOnLoopbackAndAnswer(t *testing.T) {
	for name, endpoint := range map[string]func(testing.TB) string{
		"dynamodb-local": testenv.DynamoDBLocal,
		"ses-local":      testenv.SESLocal,
	} {
		t.Run(name, func(t *testing.T) {
			ep := endpoint(t)
			resp, err := http.Get(ep)
			if err != nil {
				t.Fatalf("%s started but does not answer: %v", ep, err)
			}
			resp.Body.Close()
			if again := endpoint(t); again != ep {
				t.Fatalf("second call started another emulator: %s then %s", ep, again)
			}
		})
	}
}
