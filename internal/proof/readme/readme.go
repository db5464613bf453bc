// Package readme puts generated text into a README between two markers,
// so that figures in it come from the command that measured them:
//
//	<!-- bench:begin -->
//	...replaced by `go run ./infra/bench -readme README.md`...
//	<!-- bench:end -->
package readme

import (
	"fmt"
	"os"
	"strings"
)

// Replace puts text between the begin and end markers of name in the file
// at path, keeping the markers. The file must hold both, in order.
func Replace(path, name, text string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	s := string(b)
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	out := s[:i+len(begin)] + "\n" + strings.TrimSpace(text) + "\n" + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}
