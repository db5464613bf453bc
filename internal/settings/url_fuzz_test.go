package settings_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/settings"
)

// FuzzURLs checks the URL checks every setting goes through (marketplace
// URL, logos, terms, JWKS, URL answers): an accepted URL parses to an
// absolute URL of an allowed scheme, with a host, without credentials,
// spaces or control characters, and HTTPSURL's has no fragment.
func FuzzURLs(f *testing.F) {
	for _, seed := range []string{
		"https://app.acme.test/integrations", "http://app.acme.test/", "https://user:pw@acme.test/", "https://acme.test/#frag",
		"javascript:alert(1)", "//acme.test/x", "https://", "https:///path", "HTTPS://ACME.TEST", "https://acme.test:99999/",
		"https://[::1]/", "https://acme.test/\x00", " https://acme.test/ ", "https://a%40b@acme.test/", "https:acme.test",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, c := range []struct {
			name     string
			check    func(string, string) (string, error)
			schemes  []string
			fragment bool
		}{
			{"HTTPSURL", settings.HTTPSURL, []string{"https"}, false},
			{"WebURL", settings.WebURL, []string{"http", "https"}, true},
		} {
			out, err := c.check("url", raw)
			if err != nil {
				continue
			}
			u, perr := url.Parse(out)
			switch {
			case perr != nil:
				t.Fatalf("%s(%q) = %q, which does not parse: %v", c.name, raw, out, perr)
			case !containsFold(c.schemes, u.Scheme) || u.Hostname() == "" || u.User != nil || u.Opaque != "":
				t.Fatalf("%s(%q) = %q: scheme %q, host %q, user %v", c.name, raw, out, u.Scheme, u.Hostname(), u.User)
			case !c.fragment && (u.Fragment != "" || strings.Contains(out, "#")):
				t.Fatalf("%s(%q) = %q keeps a fragment", c.name, raw, out)
			case strings.IndexFunc(out, func(r rune) bool { return r <= 0x20 || r == 0x7f }) >= 0:
				t.Fatalf("%s(%q) = %q holds a space or control character", c.name, raw, out)
			}
		}
	})
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
