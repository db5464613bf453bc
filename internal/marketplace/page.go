package marketplace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// The page is static: one HTML template with its stylesheet and script
// inlined, allowed by their hashes in the Content-Security-Policy, so the
// page needs no public asset route and runs nothing else.
//
//go:embed page/index.html page/marketplace.css page/marketplace.js
var pageFiles embed.FS

// PagePath is where the marketplace function serves the page; the API it
// calls lives under it.
const PagePath = "/marketplace"

// PageRouteKey is the page's API Gateway route, the one route whose
// authorizer (MarketplacePageAuthorizer in template.yaml) reads the token
// from the PageTokenParameter query parameter of the first load.
const (
	PageRouteKey       = "GET " + PagePath
	PageTokenParameter = "tenant"
)

type pageAssets struct {
	html       *template.Template
	style      template.CSS
	script     template.JS
	styleHash  string
	scriptHash string
}

func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// assets are built on the first page served: only the marketplace function
// serves it, and every function links this package.
var assets = sync.OnceValue(func() pageAssets {
	read := func(name string) []byte {
		b, err := pageFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded: present at build time
		}
		return b
	}
	style, script := read("page/marketplace.css"), read("page/marketplace.js")
	return pageAssets{
		html:   template.Must(template.New("page").Parse(string(read("page/index.html")))),
		style:  template.CSS(style), // our own file, never user input
		script: template.JS(script), // our own file, never user input
		// The hashes are of the exact text between the tags.
		styleHash:  cspHash(style),
		scriptHash: cspHash(script),
	}
})

// pageConfig is what the script reads from the page's JSON data block.
type pageConfig struct {
	ParentOrigin string `json:"parentOrigin"`
	API          string `json:"api"`
}

// RenderedPage is the page for one end-user and the headers it needs.
type RenderedPage struct {
	HTML    []byte
	Headers map[string]string
}

var errNoMarketplaceURL = apperr.New(apperr.Conflict, "marketplace_url_not_set", "the organization has not set its marketplace URL (Company area), so the marketplace cannot be framed")

// origin is the serialized origin of a marketplace URL, usable in a CSP
// source list and as postMessage's target origin.
func origin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	host := strings.ToLower(u.Host)
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':' || r == '[' || r == ']') {
			return "", false
		}
	}
	return u.Scheme + "://" + host, true
}

// ContentSecurityPolicy is the page's policy: framed only by parentOrigin,
// only its own inline script and style (by hash), logos over https, and
// requests only to the hub's own origin.
func ContentSecurityPolicy(parentOrigin string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + assets().scriptHash,
		"style-src " + assets().styleHash,
		"img-src https:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors " + parentOrigin,
	}, "; ")
}

// Page renders the marketplace page for the end-user p: it records the
// end-user and reads the organization's marketplace URL, the only origin
// that may frame the page and receive its messages. The end-user's record
// and the organization are one read.
func (s *Service) Page(ctx context.Context, p principal.Principal) (RenderedPage, error) {
	if err := endUserOnly(p); err != nil {
		return RenderedPage{}, err
	}
	orgKey := keys.Org(p.Org)
	read, err := storage.Prefetch(ctx, s.Table, keys.EndUser(p.Org, p.Subject), orgKey)
	if err != nil {
		return RenderedPage{}, fmt.Errorf("marketplace: read end-user and organization: %w", err)
	}
	if _, _, err := s.seeFrom(ctx, p, read); err != nil {
		return RenderedPage{}, err
	}
	item, err := read.Get(ctx, orgKey)
	if errors.Is(err, storage.ErrNotFound) {
		return RenderedPage{}, errNoMarketplaceURL
	}
	if err != nil {
		return RenderedPage{}, fmt.Errorf("marketplace: read organization: %w", err)
	}
	org, err := orgs.FromItem(item)
	if err != nil {
		return RenderedPage{}, err
	}
	parent, ok := origin(org.MarketplaceURL)
	if !ok {
		return RenderedPage{}, errNoMarketplaceURL
	}
	var out bytes.Buffer
	err = assets().html.Execute(&out, map[string]any{
		"Style":  assets().style,
		"Script": assets().script,
		"Config": pageConfig{ParentOrigin: parent, API: PagePath},
	})
	if err != nil {
		return RenderedPage{}, fmt.Errorf("marketplace: render page: %w", err)
	}
	return RenderedPage{HTML: out.Bytes(), Headers: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": ContentSecurityPolicy(parent),
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}}, nil
}
