package marketplace

import "testing"

func TestOriginOfTheMarketplaceURL(t *testing.T) {
	cases := map[string]string{
		"https://App.Acme.example/settings?x=1":   "https://app.acme.example",
		"http://127.0.0.1:8080/host":              "http://127.0.0.1:8080",
		"https://[::1]:8443/":                     "https://[::1]:8443",
		"":                                        "",
		"ftp://acme.example/":                     "",
		"https://user:pw@acme.example/":           "",
		"https://acme.example;script-src *":       "",
		"https://acme.example%20'unsafe-inline'/": "",
		"/relative":                               "",
	}
	for raw, want := range cases {
		got, ok := origin(raw)
		if got != want || ok != (want != "") {
			t.Errorf("origin(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}
