package company

import (
	"testing"

	"github.com/integration-hub/hub/internal/apperr"
)

func TestCheckSVGRefusesEverythingThatCouldRunOrLoad(t *testing.T) {
	const open = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">`
	cases := []struct {
		name, svg string
		code      string // "" when accepted
	}{
		{"plain shapes", open + `<rect width="10" height="10" fill="#123"/></svg>`, ""},
		{"xml declaration, gradient, local references", `<?xml version="1.0" encoding="UTF-8"?>` + open +
			`<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient><path id="p" d="M0 0h1"/></defs>` +
			`<rect fill="url(#g)" width="1" height="1"/><use href="#p"/><use xlink:href="#p"/></svg>`, ""},
		{"inline style sheet", open + `<style>.a{fill:#fff;stroke:url('#g')}</style><circle class="a" r="2"/></svg>`, ""},
		{"editor metadata", open + `<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF></metadata><g/></svg>`, ""},
		{"no namespace", `<svg viewBox="0 0 1 1"><rect/></svg>`, ""},

		{"script", open + `<script>alert(1)</script></svg>`, "unsafe_svg"},
		{"script in another case", open + `<SCRIPT>alert(1)</SCRIPT></svg>`, "unsafe_svg"},
		{"event handler", open + `<rect onclick="alert(1)"/></svg>`, "unsafe_svg"},
		{"event handler on the root", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, "unsafe_svg"},
		{"foreign object", open + `<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>`, "unsafe_svg"},
		{"xhtml script", open + `<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></svg>`, "unsafe_svg"},
		{"xhtml script hidden in metadata", open + `<metadata><h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></metadata></svg>`, "unsafe_svg"},
		{"svg script hidden in metadata", open + `<metadata><script>alert(1)</script></metadata></svg>`, "unsafe_svg"},
		{"xml events listener", open + `<ev:listener xmlns:ev="http://www.w3.org/2001/xml-events" event="load" handler="#x"/></svg>`, "unsafe_svg"},
		{"link", open + `<a href="https://evil.test"><rect/></a></svg>`, "unsafe_svg"},
		{"javascript href", open + `<use href="javascript:alert(1)"/></svg>`, "unsafe_svg"},
		{"external xlink href", open + `<use xlink:href="https://evil.test/sprite.svg#a"/></svg>`, "unsafe_svg"},
		{"data href", open + `<use href="data:image/svg+xml;base64,PHN2Zy8+"/></svg>`, "unsafe_svg"},
		{"image", open + `<image href="#x"/></svg>`, "unsafe_svg"},
		{"animation that rewrites a link", open + `<set attributeName="href" to="javascript:alert(1)"/></svg>`, "unsafe_svg"},
		{"external url in a paint", open + `<rect fill="url(https://evil.test/#g)"/></svg>`, "unsafe_svg"},
		{"external url in a style sheet", open + `<style>rect{fill:url( "https://evil.test/a.svg#g")}</style></svg>`, "unsafe_svg"},
		{"style sheet import", open + `<style>@import "https://evil.test/a.css";</style></svg>`, "unsafe_svg"},
		{"css escape", open + `<style>rect{fill:u\72l(https://evil.test)}</style></svg>`, "unsafe_svg"},
		{"style attribute loading a url", open + `<rect style="background:url(//evil.test/x)"/></svg>`, "unsafe_svg"},
		{"xml:base", open + `<g xml:base="https://evil.test/"/></svg>`, "unsafe_svg"},
		{"doctype with an entity", `<!DOCTYPE svg [<!ENTITY x "y">]>` + open + `</svg>`, "unsafe_svg"},
		{"stylesheet processing instruction", `<?xml-stylesheet href="https://evil.test/a.css"?>` + open + `</svg>`, "unsafe_svg"},
		{"foreign element outside metadata", open + `<x:thing xmlns:x="urn:x"/></svg>`, "unsafe_svg"},

		{"html root", `<html><body/></html>`, "invalid_svg"},
		{"svg root in the xhtml namespace", `<svg xmlns="http://www.w3.org/1999/xhtml"/>`, "invalid_svg"},
		{"not well-formed", open + `<rect></svg>`, "invalid_svg"},
		{"not xml", `GIF89a`, "invalid_svg"},
		{"empty", ``, "invalid_svg"},
		{"not utf-8", "<svg>\xff</svg>", "invalid_svg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSVG([]byte(tc.svg))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused a safe SVG: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code || e.Field != "data" || e.Kind != apperr.Invalid {
				t.Fatalf("err = %v, want %s on field data", err, tc.code)
			}
		})
	}
}
