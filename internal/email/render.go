package email

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/integration-hub/hub/internal/outbox"
)

// Each personal kind has templates/<kind>.txt, defining "subject" and
// "text", and templates/<kind>.html, defining "content", which layout.html
// frames. Every kind of the notification catalog (outbox.Notifications)
// shares templates/notification.*, which show the catalog's title and the
// event's fields.
//
//go:embed templates
var templateFiles embed.FS

// SubjectField is the field Render sets to the rendered subject before it
// renders the HTML body (its title); a caller's field of that name is
// ignored.
const SubjectField = "subject"

// templateSpec is what one kind's email needs.
type templateSpec struct {
	// required fields must be present and not empty.
	required []string
	// optional fields may be absent; the templates see them as "".
	optional []string
}

// specs lists every kind the notifier sends. Fields come from the event's
// Data and its opened Sealed fields (the link).
var specs = map[outbox.Kind]templateSpec{
	outbox.Invitation: {
		required: []string{"org_name", "link", "expires_at"},
		optional: []string{"inviter"},
	},
	outbox.PasswordResetRequested: {
		required: []string{"link", "expires_at"},
		optional: []string{"name"},
	},
}

type kindTemplates struct {
	templateSpec
	text *texttemplate.Template
	html *htmltemplate.Template
}

// catalog holds every kind's templates, each parsed on its first use: a
// function renders a few kinds at most, and parsing them all cost every
// cold start 2 ms (BenchmarkColdStart).
var catalog = newCatalog()

// notificationTemplate is the file name shared by the catalog's kinds.
const notificationTemplate = "notification"

func newCatalog() map[outbox.Kind]func() (kindTemplates, error) {
	out := make(map[outbox.Kind]func() (kindTemplates, error), len(specs)+len(outbox.Notifications))
	for kind, spec := range specs {
		out[kind] = sync.OnceValues(func() (kindTemplates, error) { return parseKind(kind, spec, string(kind)) })
	}
	for _, n := range outbox.Notifications {
		out[n.Kind] = sync.OnceValues(func() (kindTemplates, error) {
			return parseKind(n.Kind, templateSpec{}, notificationTemplate)
		})
	}
	return out
}

// parseKind parses the templates of one kind from its files.
func parseKind(kind outbox.Kind, spec templateSpec, file string) (kindTemplates, error) {
	// A personal template names every field it uses (optional ones are
	// filled in); a notification's fields vary by event.
	missing := "missingkey=error"
	if file == notificationTemplate {
		missing = "missingkey=zero"
	}
	text, err := texttemplate.New(string(kind)).Option(missing).
		ParseFS(templateFiles, "templates/"+file+".txt")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("email: text templates of %s: %w", kind, err)
	}
	html, err := htmltemplate.New(string(kind)).Option(missing).
		ParseFS(templateFiles, "templates/layout.html", "templates/"+file+".html")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("email: HTML templates of %s: %w", kind, err)
	}
	for _, name := range []string{"subject", "text"} {
		if text.Lookup(name) == nil {
			return kindTemplates{}, fmt.Errorf("email: templates/%s.txt does not define %q", file, name)
		}
	}
	return kindTemplates{templateSpec: spec, text: text, html: html}, nil
}

// Kinds lists the event kinds that have an email, sorted.
func Kinds() []outbox.Kind {
	return slices.Sorted(maps.Keys(catalog))
}

var (
	// ErrUnknownKind matches every *UnknownKindError.
	ErrUnknownKind = errors.New("email: no template for this kind of event")
	// ErrMissingFields matches every *MissingFieldsError.
	ErrMissingFields = errors.New("email: template fields missing")
)

// UnknownKindError: no email is defined for the kind.
type UnknownKindError struct{ Kind outbox.Kind }

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("email: no template for events of kind %q", e.Kind)
}

func (e *UnknownKindError) Is(target error) bool { return target == ErrUnknownKind }

// MissingFieldsError names the required fields that were absent or empty.
// The message can never be rendered from these fields, so it is permanent.
type MissingFieldsError struct {
	Kind   outbox.Kind
	Fields []string
}

func (e *MissingFieldsError) Error() string {
	return fmt.Sprintf("email: %s needs fields %s", e.Kind, strings.Join(e.Fields, ", "))
}

func (e *MissingFieldsError) Is(target error) bool {
	return target == ErrMissingFields || target == ErrPermanent
}

// Render makes the email of an event kind from its fields. The subject is
// one line; the HTML body escapes every field.
func Render(kind outbox.Kind, fields map[string]string) (subject, text, html string, err error) {
	parsed, ok := catalog[kind]
	if !ok {
		return "", "", "", &UnknownKindError{Kind: kind}
	}
	tpl, err := parsed()
	if err != nil {
		return "", "", "", err
	}
	var missing []string
	for _, name := range tpl.required {
		if fields[name] == "" {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		return "", "", "", &MissingFieldsError{Kind: kind, Fields: missing}
	}
	data := make(map[string]any, len(fields)+len(tpl.optional)+3)
	for _, name := range tpl.optional {
		data[name] = ""
	}
	for k, v := range fields {
		data[k] = v
	}
	if n, ok := outbox.NotificationOf(kind); ok {
		data["title"] = n.Title
		data["description"] = n.Description
		data["details"] = detailsOf(fields)
	}

	var b strings.Builder
	if err := tpl.text.ExecuteTemplate(&b, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("email: render subject of %s: %w", kind, err)
	}
	// A field with a line break must not split the subject header.
	subject = strings.Join(strings.Fields(b.String()), " ")
	data[SubjectField] = subject

	b.Reset()
	if err := tpl.text.ExecuteTemplate(&b, "text", data); err != nil {
		return "", "", "", fmt.Errorf("email: render text of %s: %w", kind, err)
	}
	text = b.String()

	b.Reset()
	if err := tpl.html.ExecuteTemplate(&b, "html", data); err != nil {
		return "", "", "", fmt.Errorf("email: render HTML of %s: %w", kind, err)
	}
	return subject, text, b.String(), nil
}

// detail is one field of a notification, shown as a line.
type detail struct{ Name, Value string }

// detailsOf lists a notification's fields in name order, named for people
// ("partner_name" reads "Partner name").
func detailsOf(fields map[string]string) []detail {
	out := make([]detail, 0, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == SubjectField || fields[k] == "" {
			continue
		}
		name := strings.ReplaceAll(k, "_", " ")
		out = append(out, detail{Name: strings.ToUpper(name[:1]) + name[1:], Value: fields[k]})
	}
	return out
}
