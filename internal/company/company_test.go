package company_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings/settingstest"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func req(method, path string, p principal.Principal, ifMatch, body string) settingstest.Request {
	return settingstest.Request{Method: method, Path: path, Caller: p, IfMatch: ifMatch, Body: body}
}

func TestProfileChangesNeedTheCurrentETagAndValidInput(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	admin := org.Admin
	etag := h.ETag("company", "/company", admin)
	if etag != `"v1"` {
		t.Fatalf("a new organization's Company ETag is %s, want \"v1\"", etag)
	}
	cases := []struct {
		name, ifMatch, body string
		status              int
		code, field         string
	}{
		{"no If-Match", "", `{"name":"Acme 2"}`, 428, "if_match_required", ""},
		{"stale If-Match", `"v9"`, `{"name":"Acme 2"}`, 412, "stale_version", ""},
		{"nothing to change", etag, `{}`, 400, "empty_update", ""},
		{"unknown field", etag, `{"plan":"standard"}`, 400, "unknown_field", "plan"},
		{"blank name", etag, `{"name":"  "}`, 400, "invalid_name", "name"},
		{"name with a control character", etag, `{"name":"Ac\u0007me"}`, 400, "invalid_name", "name"},
		{"bad primary contact", etag, `{"primary_contact":"not an address"}`, 400, "invalid_email", "primary_contact"},
		{"http marketplace", etag, `{"marketplace_url":"http://app.acme.test/integrations"}`, 400, "invalid_url", "marketplace_url"},
		{"marketplace with credentials", etag, `{"marketplace_url":"https://user:pw@app.acme.test/"}`, 400, "invalid_url", "marketplace_url"},
		{"marketplace with a fragment", etag, `{"marketplace_url":"https://app.acme.test/#market"}`, 400, "invalid_url", "marketplace_url"},
		{"marketplace with an empty fragment", etag, `{"marketplace_url":"https://app.acme.test/#"}`, 400, "invalid_url", "marketplace_url"},
		{"relative marketplace", etag, `{"marketplace_url":"/integrations"}`, 400, "invalid_url", "marketplace_url"},
		{"javascript marketplace", etag, `{"marketplace_url":"javascript:alert(1)"}`, 400, "invalid_url", "marketplace_url"},
		{"marketplace without a host", etag, `{"marketplace_url":"https:///path"}`, 400, "invalid_url", "marketplace_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Serve("company", req("PATCH", "/company", admin, tc.ifMatch, tc.body))
			if resp.Status != tc.status || resp.Problem.Code != tc.code || resp.Problem.Field != tc.field {
				t.Fatalf("got %d %s field=%q (%s), want %d %s field=%q", resp.Status, resp.Problem.Code, resp.Problem.Field, resp.Body, tc.status, tc.code, tc.field)
			}
		})
	}
	if again := h.ETag("company", "/company", admin); again != etag {
		t.Fatalf("refused changes moved the ETag from %s to %s", etag, again)
	}

	resp := h.Serve("company", req("PATCH", "/company", admin, etag,
		`{"name":" Acme Corp ","primary_contact":" Alerts@Acme.TEST ","marketplace_url":"https://app.acme.test/integrations?tab=all"}`))
	var doc company.Document
	resp.Decode(t, &doc)
	if resp.Status != 200 || resp.Header.Get("ETag") != `"v2"` {
		t.Fatalf("PATCH: %d ETag %s: %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	want := company.Document{Name: "Acme Corp", PrimaryAdministrator: admin.Subject, PrimaryContact: "alerts@acme.test", MarketplaceURL: "https://app.acme.test/integrations?tab=all"}
	if doc != want {
		t.Fatalf("document %+v, want %+v", doc, want)
	}
	resp = h.Serve("company", req("PATCH", "/company", admin, `"v2"`, `{"marketplace_url":""}`))
	resp.Decode(t, &doc)
	if resp.Status != 200 || doc.MarketplaceURL != "" || doc.Name != "Acme Corp" {
		t.Fatalf("clearing the marketplace URL: %d %s", resp.Status, resp.Body)
	}
}

func TestPrimaryAdministratorChangesThroughTheCompanyArea(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	next := h.HubUser(org, "next@acme.test")
	partner := h.Partner(org, "Partner", "someone@partner.test", false)
	etag := h.ETag("company", "/company", org.Admin)
	cases := []struct {
		name, ifMatch, userID string
		status                int
		code                  string
	}{
		{"missing user", etag, "", 400, "required"},
		{"unknown user", etag, "01NOSUCHUSER0000000000000", 400, "user_not_found"},
		{"partner user", etag, partner.Subject, 400, "not_eligible"},
		{"stale If-Match", `"v0"`, next.Subject, 412, "stale_version"},
		{"no If-Match", "", next.Subject, 428, "if_match_required"},
	}
	for _, tc := range cases {
		resp := h.Serve("company", req("PUT", "/company/primary-administrator", org.Admin, tc.ifMatch, `{"user_id":"`+tc.userID+`"}`))
		if resp.Status != tc.status || resp.Problem.Code != tc.code {
			t.Errorf("%s: %d %s (%s), want %d %s", tc.name, resp.Status, resp.Problem.Code, resp.Body, tc.status, tc.code)
		}
	}
	resp := h.Serve("company", req("PUT", "/company/primary-administrator", org.Admin, etag, `{"user_id":"`+next.Subject+`"}`))
	var doc company.Document
	resp.Decode(t, &doc)
	if resp.Status != 200 || doc.PrimaryAdministrator != next.Subject || resp.Header.Get("ETag") == etag {
		t.Fatalf("change: %d ETag %s: %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	// The profile's other fields survive the users service's rewrite.
	resp = h.Serve("company", req("PATCH", "/company", org.Admin, resp.Header.Get("ETag"), `{"marketplace_url":"https://app.acme.test/"}`))
	resp.Decode(t, &doc)
	if resp.Status != 200 || doc.PrimaryAdministrator != next.Subject || doc.MarketplaceURL != "https://app.acme.test/" {
		t.Fatalf("after the change: %d %s", resp.Status, resp.Body)
	}
	back := h.Serve("company", req("PUT", "/company/primary-administrator", org.Admin, resp.Header.Get("ETag"), `{"user_id":"`+org.Admin.Subject+`"}`))
	if back.Status != 200 || !strings.Contains(back.Body, "https://app.acme.test/") {
		t.Fatalf("changing back lost the marketplace URL: %d %s", back.Status, back.Body)
	}
}

func encodedPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodedJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func upload(contentType string, data []byte) string {
	return `{"content_type":"` + contentType + `","data":"` + base64.StdEncoding.EncodeToString(data) + `"}`
}

const safeSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><circle r="1" fill="#09f"/></svg>`

func TestLogosAreURLsOrCheckedUploadsServedSafely(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	partner := h.Partner(org, "Partner", "someone@partner.test", false)
	pngData, jpegData := encodedPNG(t), encodedJPEG(t)
	cases := []struct {
		name, variant, body string
		status              int
		code, field         string
	}{
		{"png", "light", upload(company.PNG, pngData), 200, "", ""},
		{"jpeg", "dark", upload(company.JPEG, jpegData), 200, "", ""},
		{"svg", "light", upload(company.SVG, []byte(safeSVG)), 200, "", ""},
		{"https url", "dark", `{"url":"https://cdn.acme.test/logo-dark.png"}`, 200, "", ""},
		{"http url", "dark", `{"url":"http://cdn.acme.test/logo.png"}`, 400, "invalid_url", "url"},
		{"url and upload", "dark", `{"url":"https://cdn.acme.test/a.png","content_type":"image/png","data":"AA=="}`, 400, "url_or_upload", "url"},
		{"nothing", "dark", `{}`, 400, "required", "data"},
		{"svg with script", "light", upload(company.SVG, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)), 400, "unsafe_svg", "data"},
		{"svg with an event handler", "light", upload(company.SVG, []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)), 400, "unsafe_svg", "data"},
		{"jpeg bytes sent as png", "light", upload(company.PNG, jpegData), 400, "not_an_image", "data"},
		{"html sent as svg", "light", upload(company.SVG, []byte(`<html><script>alert(1)</script></html>`)), 400, "invalid_svg", "data"},
		{"png signature without an image", "light", upload(company.PNG, []byte("\x89PNG\r\n\x1a\nnot really")), 400, "not_an_image", "data"},
		{"gif", "light", upload("image/gif", []byte("GIF89a")), 400, "unsupported_image_type", "content_type"},
		{"no content type", "light", `{"data":"AA=="}`, 400, "required", "content_type"},
		{"bad base64", "light", `{"content_type":"image/png","data":"%%%"}`, 400, "invalid_base64", "data"},
		{"too large", "light", upload(company.PNG, append(pngData, make([]byte, company.MaxLogoBytes)...)), 413, "logo_too_large", "data"},
		{"unknown variant", "medium", upload(company.PNG, pngData), 404, "logo_variant_not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			etag := h.ETag("company", "/company", org.Admin)
			resp := h.Serve("company", req("PUT", "/company/logos/"+tc.variant, org.Admin, etag, tc.body))
			if resp.Status != tc.status || resp.Problem.Code != tc.code || resp.Problem.Field != tc.field {
				t.Fatalf("got %d %s field=%q (%.300s), want %d %s field=%q", resp.Status, resp.Problem.Code, resp.Problem.Field, resp.Body, tc.status, tc.code, tc.field)
			}
		})
	}

	// Light is the SVG upload, dark the https URL; partners see both.
	var doc company.PartnerDocument
	resp := h.Serve("company", req("GET", "/company", partner, "", ""))
	resp.Decode(t, &doc)
	if resp.Status != 200 || strings.Contains(resp.Body, "primary_contact") || strings.Contains(resp.Body, "marketplace_url") {
		t.Fatalf("a partner reads %d %s", resp.Status, resp.Body)
	}
	if l := doc.Logos.Light; l == nil || !l.Uploaded || !strings.HasPrefix(l.URL, "/company/logos/light?v=") || l.ContentType != company.SVG || l.Size != len(safeSVG) {
		t.Fatalf("light logo %+v", doc.Logos.Light)
	}
	if d := doc.Logos.Dark; d == nil || d.Uploaded || d.URL != "https://cdn.acme.test/logo-dark.png" {
		t.Fatalf("dark logo %+v", doc.Logos.Dark)
	}
	for _, p := range []principal.Principal{org.Admin, partner} {
		resp = h.Serve("company", req("GET", "/company/logos/light", p, "", ""))
		if resp.Status != 200 || resp.Body != safeSVG {
			t.Fatalf("GET the SVG logo: %d %q", resp.Status, resp.Body)
		}
		for header, want := range map[string]string{
			"Content-Type":            company.SVG,
			"Content-Security-Policy": company.LogoPolicy,
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := resp.Header.Get(header); got != want {
				t.Fatalf("%s: %q, want %q", header, got, want)
			}
		}
	}
	if resp = h.Serve("company", req("GET", "/company/logos/dark", org.Admin, "", "")); resp.Status != 404 || resp.Problem.Code != "logo_not_uploaded" {
		t.Fatalf("GET a URL logo: %d %s", resp.Status, resp.Body)
	}

	// A PNG travels as binary through the adapter.
	etag := h.ETag("company", "/company", org.Admin)
	svgURL := doc.Logos.Light.URL
	if resp = h.Serve("company", req("PUT", "/company/logos/light", org.Admin, etag, upload(company.PNG, pngData))); resp.Status != 200 {
		t.Fatalf("replace with a PNG: %d %s", resp.Status, resp.Body)
	}
	var replaced company.Document
	resp.Decode(t, &replaced)
	if replaced.Logos.Light.URL == svgURL {
		t.Fatalf("a new upload kept the URL %s, which caches may hold", svgURL)
	}
	if resp = h.Serve("company", req("GET", "/company/logos/light", partner, "", "")); resp.Status != 200 || resp.Body != string(pngData) || resp.Header.Get("Content-Type") != company.PNG {
		t.Fatalf("GET the PNG logo: %d %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	// Removing a logo removes its upload.
	if resp = h.Serve("company", req("DELETE", "/company/logos/light", org.Admin, `"v1"`, "")); resp.Status != 412 {
		t.Fatalf("DELETE with a stale ETag: %d", resp.Status)
	}
	resp = h.Serve("company", req("DELETE", "/company/logos/light", org.Admin, h.ETag("company", "/company", org.Admin), ""))
	var hubDoc company.Document
	resp.Decode(t, &hubDoc)
	if resp.Status != 200 || hubDoc.Logos.Light != nil || hubDoc.Logos.Dark == nil {
		t.Fatalf("DELETE: %d %s", resp.Status, resp.Body)
	}
	if resp = h.Serve("company", req("GET", "/company/logos/light", org.Admin, "", "")); resp.Status != http.StatusNotFound {
		t.Fatalf("GET a removed logo: %d", resp.Status)
	}
	if resp = h.Serve("company", req("PUT", "/company/logos/light", partner, "", upload(company.PNG, pngData))); resp.Status != 403 {
		t.Fatalf("a partner uploaded a logo: %d", resp.Status)
	}
}

// TestTheLargestLogoFitsADynamoDBItem stores a logo of MaxLogoBytes on
// DynamoDB Local, whose items are limited to 400 KB.
func TestTheLargestLogoFitsADynamoDBItem(t *testing.T) {
	h := settingstest.New(t, settingstest.DynamoDB(t))
	org := h.NewOrg(principal.Standard)
	pngData := encodedPNG(t)
	largest := append(pngData, make([]byte, company.MaxLogoBytes-len(pngData))...)
	resp := h.Serve("company", req("PUT", "/company/logos/dark", org.Admin, h.ETag("company", "/company", org.Admin), upload(company.PNG, largest)))
	if resp.Status != 200 {
		t.Fatalf("upload of %d bytes: %d %s", len(largest), resp.Status, resp.Body)
	}
	if resp = h.Serve("company", req("GET", "/company/logos/dark", org.Admin, "", "")); resp.Status != 200 || resp.Body != string(largest) {
		t.Fatalf("read back: %d, %d bytes", resp.Status, len(resp.Body))
	}
}
