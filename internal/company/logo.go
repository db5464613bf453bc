package company

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
)

// The logo variants.
const (
	Light = "light"
	Dark  = "dark"
)

// LogoPath is the route that serves an uploaded logo variant.
func LogoPath(variant string) string { return "/company/logos/" + variant }

// Uploaded logo formats.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
	SVG  = "image/svg+xml"
)

// MaxLogoBytes caps an uploaded logo. Base64 in the item's JSON keeps it
// well under DynamoDB's 400 KB item limit.
const MaxLogoBytes = 256 << 10

// MaxLogoBody caps the request that uploads a logo (base64 and JSON).
const MaxLogoBody = MaxLogoBytes*4/3 + 4<<10

// LogoType is the entity type of uploaded logo items.
const LogoType = "logo"

// LogoInput sets a logo variant: either URL, or ContentType and Data (the
// image, base64).
type LogoInput struct {
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Data        string `json:"data,omitempty"`
}

// Image is an uploaded logo.
type Image struct {
	ContentType string
	Data        []byte
}

// upload is a validated image on its way to its item.
type upload struct {
	Image
	sha256 string
}

type logoDocument struct {
	ContentType string    `json:"content_type"`
	Data        []byte    `json:"data"`
	SHA256      string    `json:"sha256"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

func (u upload) item(org, variant string, now time.Time) (storage.Item, error) {
	data, err := json.Marshal(logoDocument{ContentType: u.ContentType, Data: u.Data, SHA256: u.sha256, UploadedAt: now})
	if err != nil {
		return storage.Item{}, fmt.Errorf("company: encode logo: %w", err)
	}
	return storage.Item{Key: keys.Logo(org, variant), Type: LogoType, Version: 1, Data: data}, nil
}

func imageFromItem(it storage.Item) (Image, error) {
	if it.Type != LogoType {
		return Image{}, fmt.Errorf("company: item %s is a %q, not a logo", it.Key, it.Type)
	}
	var doc logoDocument
	if err := json.Unmarshal(it.Data, &doc); err != nil {
		return Image{}, fmt.Errorf("company: decode logo %s: %w", it.Key, err)
	}
	return Image{ContentType: doc.ContentType, Data: doc.Data}, nil
}

// validate returns the profile's reference to the logo and, for an upload,
// the image to store.
func (in LogoInput) validate() (orgs.Logo, *upload, error) {
	switch {
	case in.URL != "" && (in.ContentType != "" || in.Data != ""):
		return orgs.Logo{}, nil, apperr.Field("url", "url_or_upload", "send either url or content_type and data, not both")
	case in.URL != "":
		u, err := settings.HTTPSURL("url", in.URL)
		if err != nil {
			return orgs.Logo{}, nil, err
		}
		return orgs.Logo{URL: u}, nil, nil
	case in.Data == "":
		return orgs.Logo{}, nil, apperr.Field("data", "required", "send url, or content_type and data (the image in base64)")
	}
	data, err := base64.StdEncoding.DecodeString(in.Data)
	if err != nil {
		return orgs.Logo{}, nil, apperr.Field("data", "invalid_base64", "data is the image in standard base64")
	}
	if len(data) == 0 || len(data) > MaxLogoBytes {
		return orgs.Logo{}, nil, &apperr.Error{Kind: apperr.TooLarge, Code: "logo_too_large", Field: "data", Detail: fmt.Sprintf("a logo has 1 to %d bytes", MaxLogoBytes)}
	}
	if err := checkImage(in.ContentType, data); err != nil {
		return orgs.Logo{}, nil, err
	}
	sum := sha256.Sum256(data)
	up := &upload{Image: Image{ContentType: in.ContentType, Data: data}, sha256: hex.EncodeToString(sum[:])}
	return orgs.Logo{ContentType: in.ContentType, Size: len(data), SHA256: up.sha256}, up, nil
}

var (
	pngSignature  = []byte("\x89PNG\r\n\x1a\n")
	jpegSignature = []byte{0xff, 0xd8, 0xff}
)

// checkImage checks that data is an image of contentType: its magic bytes
// and header for PNG and JPEG; for SVG, well-formed XML that cannot run
// script or load anything (checkSVG).
func checkImage(contentType string, data []byte) error {
	mismatch := apperr.Field("data", "not_an_image", "data is not a %s image", contentType)
	switch contentType {
	case PNG:
		if !bytes.HasPrefix(data, pngSignature) {
			return mismatch
		}
		if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			return mismatch
		}
	case JPEG:
		if !bytes.HasPrefix(data, jpegSignature) {
			return mismatch
		}
		if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
			return mismatch
		}
	case SVG:
		return checkSVG(data)
	case "":
		return apperr.Field("content_type", "required", "content_type is %s, %s or %s", PNG, JPEG, SVG)
	default:
		return apperr.Field("content_type", "unsupported_image_type", "content_type is %s, %s or %s", PNG, JPEG, SVG)
	}
	return nil
}

const svgNamespace = "http://www.w3.org/2000/svg"

// svgElements are the SVG elements a logo may use: shapes, text, paint
// servers, clipping, masking and filters. Everything that can run script,
// embed a document, link, animate or load a resource (script, foreignObject,
// a, image, feImage, animate, set, iframe, ...) is absent.
var svgElements = setOf(`svg g defs symbol use title desc metadata style
	path rect circle ellipse line polyline polygon text tspan textPath
	linearGradient radialGradient stop pattern clipPath mask marker filter
	feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
	feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood
	feFuncA feFuncB feFuncG feFuncR feGaussianBlur feMerge feMergeNode
	feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile
	feTurbulence`)

// scriptingNamespaces hold elements that run script or attach handlers
// wherever they are in the document, rendered or not.
var scriptingNamespaces = setOf(`http://www.w3.org/1999/xhtml http://www.w3.org/2001/xml-events`)

func setOf(names string) map[string]bool {
	set := map[string]bool{}
	for _, name := range strings.Fields(names) {
		set[name] = true
	}
	return set
}

func unsafeSVG(code, format string, args ...any) error {
	return apperr.Field("data", code, format, args...)
}

// checkSVG accepts an SVG document only if it can neither run script nor
// reach outside itself: the root is <svg>; SVG elements are on the
// svgElements list; elements of other namespaces (an editor's RDF) appear
// only inside <metadata>, and never those of XHTML or XML Events, whose
// script runs even where nothing is rendered; no attribute is an event handler
// (on*); every href is a local reference (#id); no attribute or style
// sheet loads a URL other than a local one (url(#id)), imports a style
// sheet or names a javascript: URL; there is no DOCTYPE (no entities) and
// no processing instruction but the XML declaration. The stored logo is
// also served under a Content-Security-Policy that forbids script.
func checkSVG(data []byte) error {
	if !utf8.Valid(data) {
		return unsafeSVG("invalid_svg", "an SVG logo is UTF-8 text")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var (
		depth         int
		sawRoot       bool
		metadataDepth int // depth of the <metadata> element we are in, or 0
		inStyle       bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return unsafeSVG("invalid_svg", "the SVG is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return unsafeSVG("unsafe_svg", "the SVG has a processing instruction <?%s?>", t.Target)
			}
		case xml.Directive:
			return unsafeSVG("unsafe_svg", "the SVG has a DOCTYPE or another declaration")
		case xml.StartElement:
			depth++
			name := t.Name.Local
			inSVG := t.Name.Space == "" || t.Name.Space == svgNamespace
			switch {
			case !sawRoot && (name != "svg" || !inSVG):
				return unsafeSVG("invalid_svg", "the root element is <%s>, not <svg>", name)
			case inSVG && !svgElements[name]:
				return unsafeSVG("unsafe_svg", "the SVG has a <%s> element, which logos may not use", name)
			case !inSVG && (metadataDepth == 0 || scriptingNamespaces[t.Name.Space]):
				return unsafeSVG("unsafe_svg", "the SVG has an element <%s> of namespace %q here", name, t.Name.Space)
			}
			sawRoot = true
			if name == "metadata" && inSVG && metadataDepth == 0 {
				metadataDepth = depth
			}
			inStyle = name == "style" && metadataDepth == 0
			for _, a := range t.Attr {
				if err := checkSVGAttribute(name, a); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if depth == metadataDepth {
				metadataDepth = 0
			}
			depth--
			inStyle = false
		case xml.CharData:
			if inStyle {
				if err := checkCSS(string(t)); err != nil {
					return err
				}
			}
		}
	}
	if !sawRoot {
		return unsafeSVG("invalid_svg", "the SVG has no <svg> element")
	}
	return nil
}

func checkSVGAttribute(element string, a xml.Attr) error {
	local := strings.ToLower(a.Name.Local)
	switch {
	case strings.HasPrefix(local, "on"):
		return unsafeSVG("unsafe_svg", "<%s> has an event handler attribute %s", element, a.Name.Local)
	case local == "href":
		if !strings.HasPrefix(strings.TrimSpace(a.Value), "#") {
			return unsafeSVG("unsafe_svg", "<%s> refers to something outside the SVG (%s); only #id references are allowed", element, a.Name.Local)
		}
	case local == "base" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace"):
		return unsafeSVG("unsafe_svg", "<%s> has xml:base", element)
	}
	return checkCSS(a.Value)
}

// checkCSS refuses a style sheet or an attribute value that loads a URL
// other than a local reference, imports a style sheet, names a javascript:
// URL or uses a CSS escape (which could spell any of these).
func checkCSS(s string) error {
	folded := strings.ToLower(strings.Join(strings.Fields(s), ""))
	for _, bad := range []string{"javascript:", "@import", "expression(", `\`} {
		if strings.Contains(folded, bad) {
			return unsafeSVG("unsafe_svg", "the SVG uses %q", bad)
		}
	}
	for rest := folded; ; {
		_, after, found := strings.Cut(rest, "url(")
		if !found {
			return nil
		}
		target := strings.TrimLeft(after, `"'`)
		if !strings.HasPrefix(target, "#") {
			return unsafeSVG("unsafe_svg", "the SVG loads a URL; only url(#id) references are allowed")
		}
		rest = after
	}
}
