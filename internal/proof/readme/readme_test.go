package readme_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/integration-hub/hub/internal/proof/readme"
)

func TestReplaceKeepsTheMarkersAndEverythingAround(t *testing.T) {
	tests := []struct {
		name, file, want string
		ok               bool
	}{
		{"section", "a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb\n", "a\n<!-- bench:begin -->\nnew table\n<!-- bench:end -->\nb\n", true},
		{"empty section", "<!-- bench:begin --><!-- bench:end -->", "<!-- bench:begin -->\nnew table\n<!-- bench:end -->", true},
		{"no markers", "a\n", "a\n", false},
		{"markers reversed", "<!-- bench:end --><!-- bench:begin -->", "<!-- bench:end --><!-- bench:begin -->", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "README.md")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			err := readme.Replace(path, "bench", "\nnew table\n\n")
			got, _ := os.ReadFile(path)
			if (err == nil) != tt.ok || string(got) != tt.want {
				t.Errorf("Replace: %v, file %q; want ok %v, %q", err, got, tt.ok, tt.want)
			}
		})
	}
}
